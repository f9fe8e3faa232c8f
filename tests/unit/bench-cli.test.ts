import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeResult } from '../../src/bench/results.ts';
import { pipelineResult, sweepResult } from './bench-fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function prism(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'prism.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-bench-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('prism bench report', () => {
  it('writes the markdown and one PNG per benchmark found', async () => {
    await writeResult(dir, sweepResult());
    await writeResult(dir, pipelineResult());
    const out = join(dir, 'BENCHMARKS.md');
    const r = prism(['bench', 'report', '--results', dir, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const md = await readFile(out, 'utf8');
    expect(md).toContain('![scorer sweep](plots/sweep.png)');
    expect(md).toContain('![pipeline](plots/pipeline.png)');
    for (const f of ['sweep.png', 'pipeline.png']) {
      const png = await readFile(join(dir, 'plots', f));
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    }
    expect(existsSync(join(dir, 'plots', 'soak.png'))).toBe(false);
  });

  it('exits 2 with RESULTS_MISSING when there are no results', () => {
    const r = prism(['bench', 'report', '--results', dir, '--out', join(dir, 'B.md')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('[RESULTS_MISSING]');
  });
});
