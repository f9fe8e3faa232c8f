import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { presetConfig } from '../../src/model/config.ts';
import { batchActivationBytes } from '../../src/scorer/memory.ts';
import { scorerSection } from '../../src/config/scorer.ts';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./scorer-memory-child.ts', import.meta.url));

async function nativeAvailable(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('scorer memory budget (scorer.maxBatchMemoryMB)', () => {
  it('the estimate is within ±30 % of the measured peak of a batch scored under that cap', async (ctx) => {
    if (!(await nativeAvailable())) ctx.skip(); // the constants are fitted on the native backend
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', child, 'tiny', '16', '512', 'tensorflow'],
      {
        maxBuffer: 2 ** 20,
      },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      baseRss: number;
      peakRss: number;
      estimate: number;
      ok: boolean;
    };
    expect(r.ok).toBe(true);
    const measured = r.peakRss - r.baseRss;
    expect(measured).toBeGreaterThan(0);
    expect(Math.abs(r.estimate - measured) / measured).toBeLessThanOrEqual(0.3);
  });

  it('micro-batches of T = 1024 really batch under the default cap', () => {
    const cap = scorerSection.parse({}).maxBatchMemoryMB * 2 ** 20;
    for (const preset of ['tiny', 'small'] as const) {
      const c = presetConfig(preset, 'llama', 264);
      let B = 1;
      while (batchActivationBytes(c, B + 1, 1024) <= cap) B++;
      expect(B).toBeGreaterThanOrEqual(8);
    }
    // Nothing grows with T²: doubling T at most a little over doubles the estimate.
    const c = presetConfig('small', 'llama', 264);
    expect(batchActivationBytes(c, 4, 2048)).toBeLessThan(2.2 * batchActivationBytes(c, 4, 1024));
  });
});
