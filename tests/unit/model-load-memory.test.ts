import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./model-load-child.ts', import.meta.url));

async function nativeAvailable(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('loadModel on the native backend', () => {
  it('leaves the weights in TensorFlow only, not also as JS arrays', async (ctx) => {
    // tfjs-node keeps a tensor's JS values until an op first reads it; the cpu/wasm backends always do.
    if (!(await nativeAvailable())) ctx.skip();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', child], { maxBuffer: 2 ** 20 });
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      weightBytes: number;
      arrayBuffers: number;
      finite: number;
    };
    expect(r.finite).toBe(1);
    expect(r.weightBytes).toBeGreaterThan(50 * 2 ** 20);
    expect(r.arrayBuffers).toBeLessThan(0.1 * r.weightBytes);
  });
});
