import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileSection, readProfileResults } from '../../src/bench/report/profile-section.ts';
import { generateReport } from '../../src/bench/report/report.ts';
import { gridVerdicts, readTorchGrid, torchGridSection } from '../../src/bench/report/torch-grid-section.ts';
import { torchWayOf } from '../../src/bench/profile.ts';
import { TORCH_WAY_LABEL } from '../../src/bench/profile-table.ts';
import { gridTable } from '../../src/bench/torch-grid.ts';

const RESULTS = join(import.meta.dirname, '..', '..', 'bench', 'results');

describe('BENCHMARKS §9 from bench/results/profile-*.json', () => {
  it('renders one summary row per profile and each profile’s table, with its command and load', async () => {
    const results = await readProfileResults(RESULTS);
    expect(results.length).toBeGreaterThan(0);
    const md = profileSection(results);
    expect(md).toMatch(/^## 9\. Where the time goes/);
    for (const r of results) {
      expect(md).toContain(
        `| ${r.model.id} ${r.batch}×${r.seq} | ${r.ours.path ?? '?'} | ${TORCH_WAY_LABEL[torchWayOf(r)]} | ${r.speedVsTorch.toFixed(2)}× |`,
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
      const [first] = await readProfileResults(RESULTS);
      writeFileSync(
        join(dir, `profile-${first.model.id}-${first.batch}x${first.seq}.json`),
        JSON.stringify(first),
      );
      const out = join(dir, 'BENCHMARKS.md');
      await generateReport({ resultsDir: dir, out, plots: false, handWrittenDir: join(dir, 'none') });
      const text = readFileSync(out, 'utf8');
      expect(text).toContain('## 1. Scorer');
      expect(text.indexOf('## 9. Where the time goes')).toBeGreaterThan(text.indexOf('## 1. Scorer'));
      expect(text).toContain(`### ${first.model.id} ${first.batch}×${first.seq}`);
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
    // One line per row in the grid table and one in the verdict table.
    expect(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| model')).length).toBe(
      2 * (doc!.rows.length + 1),
    );
    expect(md).toContain('| broken');
  });

  it('shows each row’s share of the fp32 matmul ceiling, auto’s batched-vs-per-trajectory timing and PyTorch’s hook side when recorded', async () => {
    const doc = await readTorchGrid(RESULTS);
    const base = doc!.rows[0]!;
    const {
      calibration: _c,
      ceilingGflops: _g,
      oursGflopPerSec: _o,
      torchHooksTrajPerSec: _h,
      torchHooksPeakRssMB: _r,
      speedVsTorchBest: _b,
      hooksError: _e,
      maxGiniDiff: _d,
      ...bare
    } = base;
    const measured = {
      ...bare,
      model: '/m/measured',
      oursGflopPerSec: 50,
      ceilingGflops: 200,
      calibration: { batchedMs: 1000, perTrajectoryMs: 2500 },
      torchHooksTrajPerSec: 12.5,
      torchHooksPeakRssMB: 3072,
      speedVsTorchBest: 0.4,
    };
    const older = { ...bare, model: '/m/older' };
    const table = gridTable([measured, older]);
    const cells = (name: string): string[] =>
      (table.split('\n').find((l) => l.startsWith(`| ${name} |`)) ?? '').split(' | ');
    expect(cells('measured')[5]).toBe('2.50×');
    expect(cells('measured')[9]).toBe('12.500');
    expect(cells('measured')[10]).toBe('0.40×');
    expect(cells('measured')[11]).toBe('50.0 (25.0 % of 200)');
    expect(cells('measured')[15], 'the hook side’s peak RSS').toBe('3.00');
    for (const k of [5, 9, 10, 11, 15]) expect(cells('older')[k]).toBe('—');
    const killed = {
      ...bare,
      model: '/m/killed',
      torchHooksTrajPerSec: null as unknown as number, // NaN, as JSON stores it
      hooksError: 'python3 hooks_torch.py failed (was killed by SIGKILL (out of memory? …)): …',
      maxRelNormDiff: 2.5e-4,
      maxGiniDiff: 3e-6,
    };
    const killedCells = gridTable([killed]).split('\n')[2]!.split(' | ');
    expect(killedCells[9]).toBe('failed (killed: out of memory?)');
    expect(killedCells.slice(-2)).toEqual(['2.5e-4', '3.0e-6 |']);
    expect(cells('older').at(-1), 'no Gini check recorded').toBe('— |');
    // The verdict takes the faster PyTorch where both were measured, the paper loop otherwise.
    const verdicts = gridVerdicts(
      [
        { ...measured, speedVsTorch: 1.5 },
        { ...older, speedVsTorch: 1.5 },
      ],
      [],
    );
    expect(verdicts).toContain('| measured');
    expect(verdicts.split('\n').find((l) => l.startsWith('| measured'))).toContain('| yes | **no** |');
    expect(verdicts.split('\n').find((l) => l.startsWith('| older'))).toContain('| yes | yes |');
  });

  it('marks each row against the targets and points a speed miss at the profile of its shape', async () => {
    const doc = await readTorchGrid(RESULTS);
    const p = (await readProfileResults(RESULTS)).find((x) => torchWayOf(x) === 'loop')!;
    // A row with the paper loop only (the hook side's fields are tested above).
    const { torchHooksTrajPerSec: _h, speedVsTorchBest: _b, hooksError: _e, ...base } = doc!.rows[0]!;
    const slow = {
      ...base,
      model: `/m/${p.model.id}`,
      batch: p.batch,
      seq: p.seq,
      speedVsTorch: 0.5,
      rssVsTorch: 1.2,
    };
    const heavy = { ...base, model: '/m/other', batch: 3, seq: 7, speedVsTorch: 1.2, rssVsTorch: 2 };
    const unprofiled = { ...base, model: '/m/other', batch: 3, seq: 9, speedVsTorch: 0.9, rssVsTorch: 1 };
    const md = gridVerdicts([slow, heavy, unprofiled], [p]);
    const worst = [...p.gap].sort((a, b) => b.deltaMs - a.deltaMs)[0];
    expect(md).toContain(
      `| ${p.model.id} ${p.batch}×${p.seq} | yes | **no** | §9 ${p.model.id} ${p.batch}×${p.seq} vs the loop`,
    );
    // Ahead of the loop but behind the hook path: the cell says the faster way was the hook path.
    const hooksOnly = {
      ...slow,
      speedVsTorch: 1.3,
      torchTrajPerSec: 10,
      torchHooksTrajPerSec: 20,
      speedVsTorchBest: 0.65,
    };
    expect(gridVerdicts([hooksOnly], [p])).toContain(
      `| yes | **no** | PyTorch's faster way here is its hook path (2.00× its loop; not profiled); §9 ${p.model.id}`,
    );
    // With a profile of the hook path for that shape, the cell reads from it instead.
    const againstHooks = {
      ...p,
      torch: { ...p.torch, way: 'hooks' as const },
      speedVsTorch: 0.42,
      gap: [{ name: 'softmax', oursMs: 90, torchMs: 10, deltaMs: 80 }],
    };
    const cell = gridVerdicts([hooksOnly], [p, againstHooks]);
    expect(cell).toContain(
      `| yes | **no** | §9 ${p.model.id} ${p.batch}×${p.seq} vs PyTorch's hook path (0.42× there): softmax +80 ms |`,
    );
    expect(cell).not.toContain('not profiled');
    // Where the loop is the faster way, the loop's profile is used even when a hooks profile exists.
    expect(gridVerdicts([slow], [againstHooks, p])).toContain(
      `vs the loop (${p.speedVsTorch.toFixed(2)}× there)`,
    );
    // With only the other way's profile of that shape, that one is used, and the cell says which way it is.
    expect(gridVerdicts([slow], [againstHooks])).toContain("vs PyTorch's hook path (0.42× there)");
    expect(md).toContain(`${worst.name} +${worst.deltaMs.toFixed(0)} ms`);
    expect(md).toContain('| other 3×7 | **no** | yes |  |');
    expect(md).toContain('| other 3×9 | yes | **no** | no profile of this shape |');
  });
});
