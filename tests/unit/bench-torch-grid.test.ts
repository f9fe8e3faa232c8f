import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { childEnding } from '../../src/bench/errors.ts';
import { compare } from '../../src/bench/torch.ts';
import { mergeGridRows, runTorchGrid } from '../../src/bench/torch-grid.ts';
import { gini } from '../../src/stats/index.ts';

describe('prism bench torch --model: the grid', () => {
  it('refuses a T over the model’s max_position_embeddings as a failed row, before either side runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-grid-test-'));
    try {
      writeFileSync(
        join(dir, 'config.json'),
        JSON.stringify({ vocab_size: 64, max_position_embeddings: 16 }),
      );
      const rows = await runTorchGrid({
        configs: [{ model: dir, batch: 2, seq: 32 }],
        threads: 1,
        reps: 1,
        backend: 'cpu',
        // Never started: the shape check comes first.
        python: '/nonexistent/python',
        attention: 'sdpa',
        check: false,
        logger: pino({ level: 'silent' }),
      });
      expect(rows).toHaveLength(1);
      expect(rows[0].error).toMatch(/T 32 is over .*max_position_embeddings 16/);
      expect(Number.isNaN(rows[0].speedVsTorch)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('childEnding: how a benchmarked child ended, for its error message', () => {
  it('names a SIGKILL as a likely out-of-memory kill, other signals and exit codes as they are', () => {
    expect(childEnding({ signal: 'SIGKILL', code: null })).toMatch(/SIGKILL \(out of memory\?.*dmesg\)/);
    expect(childEnding({ signal: 'SIGTERM', code: null })).toBe('was killed by SIGTERM');
    expect(childEnding({ signal: null, code: 2 })).toBe('exited 2');
    expect(childEnding(new Error('spawn ENOENT'))).toBe('');
  });
});

describe('compare: our norms against the paper loop’s', () => {
  it('reports the largest relative norm, loss and Gini differences', () => {
    const theirs = { norms: [[1, 2, 3, 4]], losses: [2], trajectoriesPerSec: 1 } as never;
    const same = compare({ norms: [[1, 2, 3, 4]], losses: [2] }, theirs);
    expect(same).toEqual({ maxRel: 0, maxLoss: 0, maxGini: 0 });
    const off = compare({ norms: [[1, 2, 3, 4.4]], losses: [2.5] }, theirs);
    expect(off.maxRel).toBeCloseTo(0.1, 12);
    expect(off.maxLoss).toBeCloseTo(0.5, 12);
    expect(off.maxGini).toBeCloseTo(gini([1, 2, 3, 4.4]) - gini([1, 2, 3, 4]), 12);
    expect(off.maxGini).toBeGreaterThan(0);
  });
});

describe('torch-grid.json merge', () => {
  it('puts a re-measured row in its old place and appends new configurations in run order', () => {
    const row = (model: string, seq: number, v: number) => ({ model, batch: 16, seq, threads: 2, v });
    const previous = [row('/m/a', 128, 1), row('/m/a', 512, 1), row('/m/b', 128, 1)];
    const merged = mergeGridRows(previous, [row('/m/c', 128, 2), row('/m/a', 512, 2)]);
    expect(merged).toEqual([
      row('/m/a', 128, 1),
      row('/m/a', 512, 2),
      row('/m/b', 128, 1),
      row('/m/c', 128, 2),
    ]);
    // Another thread count is another configuration.
    expect(mergeGridRows(previous, [{ ...row('/m/a', 128, 3), threads: 1 }])).toHaveLength(4);
  });
});
