import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runTorchGrid } from '../../src/bench/torch-grid.ts';

describe('prism bench torch --model: the grid', () => {
  it('refuses a T over the model’s max_position_embeddings as a failed row, before either side runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-grid-test-'));
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ vocab_size: 64, max_position_embeddings: 16 }));
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
