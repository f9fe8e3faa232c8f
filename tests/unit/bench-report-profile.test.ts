import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileSection, readProfileResults } from '../../src/bench/report/profile-section.ts';
import { generateReport } from '../../src/bench/report/report.ts';
import { readTorchGrid, torchGridSection } from '../../src/bench/report/torch-grid-section.ts';

const RESULTS = join(import.meta.dirname, '..', '..', 'bench', 'results');

describe('BENCHMARKS §9 from bench/results/profile-*.json', () => {
  it('renders one summary row per profile and each profile’s table, with its command and load', async () => {
    const results = await readProfileResults(RESULTS);
    expect(results.length).toBeGreaterThan(0);
    const md = profileSection(results);
    expect(md).toMatch(/^## 9\. Where the time goes/);
    for (const r of results) {
      expect(md).toContain(
        `| ${r.model.id} ${r.batch}×${r.seq} | ${r.ours.path ?? '?'} | ${r.speedVsTorch.toFixed(2)}× |`,
      );
      expect(md).toContain(r.meta.command);
    }
  });

  it('is absent without profile results, and a regenerated report ends with it when there are some', async () => {
    expect(profileSection([])).toBe('');
    const dir = mkdtempSync(join(tmpdir(), 'prism-report-profile-'));
    try {
      copyFileSync(join(RESULTS, 'torch-grid.json'), join(dir, 'torch-grid.json'));
      copyFileSync(join(RESULTS, 'scorer-sweep.json'), join(dir, 'scorer-sweep.json'));
      const profile = JSON.parse(readFileSync(join(RESULTS, 'profile-tiny-8x128.json'), 'utf8'));
      writeFileSync(join(dir, 'profile-tiny-8x128.json'), JSON.stringify(profile));
      const out = join(dir, 'BENCHMARKS.md');
      await generateReport({ resultsDir: dir, out, plots: false, handWrittenDir: join(dir, 'none') });
      const text = readFileSync(out, 'utf8');
      expect(text).toContain('## 1. Scorer');
      expect(text.indexOf('## 9. Where the time goes')).toBeGreaterThan(text.indexOf('## 1. Scorer'));
      expect(text).toContain('### tiny 8×128');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('BENCHMARKS §10 from bench/results/torch-grid.json', () => {
  it('renders every grid row with its provenance, a failed row as failed, and nothing without a grid', async () => {
    expect(torchGridSection(undefined)).toBe('');
    const doc = await readTorchGrid(RESULTS);
    expect(doc).toBeDefined();
    const failed = {
      ...doc!.rows[0]!,
      model: '/x/broken',
      error: 'ours: out of memory',
      oursTrajPerSec: Number.NaN,
      meta: undefined,
    };
    const md = torchGridSection({ kind: 'torch-grid', rows: [...doc!.rows, failed] });
    expect(md).toMatch(/^## 10\. PyTorch grid/);
    for (const r of doc!.rows) if (r.meta) expect(md).toContain(r.meta.command);
    expect(md).toContain('| broken |');
    expect(md).toContain('failed: ours: out of memory');
    expect(md).toContain('- broken');
    expect(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| model')).length).toBe(
      doc!.rows.length + 1,
    );
  });
});
