import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Logger } from '../../log.ts';
import { BenchError } from '../errors.ts';
import type { PipelineResult } from '../pipeline/run.ts';
import { readResult } from '../results.ts';
import type { ScorerBackendsResult } from '../scorer-backends.ts';
import type { SweepResult } from '../scorer-sweep.ts';
import type { SoakResult } from '../soak.ts';
import { soakVerdict } from '../soak-verdict.ts';
import type { TorchResult } from '../torch.ts';
import { pipelineFigure, soakFigure, sweepFigure, torchFigure } from './figures.ts';
import { gpuSection, readGpuResults } from './gpu-section.ts';
import { defaultHandWrittenDir, handWrittenMarkdown, readHandWritten } from './hand-written.ts';
import { benchmarksMarkdown, type ReportInput } from './markdown.ts';
import { profileSection, readProfileResults } from './profile-section.ts';
import { writePng } from './render.ts';
import { readTorchGrid, torchGridSection } from './torch-grid-section.ts';
import { torchGpuSection } from './torch-gpu-section.ts';

export interface ReportOptions {
  resultsDir: string;
  /** BENCHMARKS.md path. */
  out: string;
  /** PNG folder (default <resultsDir>/plots). */
  plotsDir?: string;
  /** false: tables only (no figures rendered). */
  plots?: boolean;
  /** Hand-written sections copied after the generated ones (default bench/hand-written/, see hand-written.ts). */
  handWrittenDir?: string;
  logger?: Logger;
}

export interface ReportOutput {
  path: string;
  figures: string[];
  included: string[];
}

/** `prism bench report`: reads bench/results/*.json (full runs preferred over quick ones), renders the figures, writes BENCHMARKS.md. */
export async function generateReport(o: ReportOptions): Promise<ReportOutput> {
  const sweep = (await readResult(o.resultsDir, 'scorer-sweep')) as SweepResult | undefined;
  const pipeline = (await readResult(o.resultsDir, 'pipeline')) as PipelineResult | undefined;
  const soakRaw = (await readResult(o.resultsDir, 'soak')) as SoakResult | undefined;
  // The verdict is re-derived from the samples so every report applies the current rule.
  const soak = soakRaw && {
    ...soakRaw,
    verdict: soakVerdict(soakRaw.samples, soakRaw.settings.minutes * 60),
  };
  const torch = (await readResult(o.resultsDir, 'torch')) as TorchResult | undefined;
  const backends = (await readResult(o.resultsDir, 'scorer-backends')) as ScorerBackendsResult | undefined;
  const included = Object.entries({ sweep, pipeline, soak, torch, backends })
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (included.length === 0) {
    throw new BenchError(
      'RESULTS_MISSING',
      `no result files in ${o.resultsDir}: run prism bench scorer --sweep (or --record) / pipeline / soak / torch first`,
      { exitCode: 2 },
    );
  }
  const plotsDir = o.plotsDir ?? join(o.resultsDir, 'plots');
  const figures: ReportInput['figures'] = {};
  const written: string[] = [];
  if (o.plots !== false) {
    await mkdir(plotsDir, { recursive: true });
    const specs: [keyof ReportInput['figures'], TopLevelSpec | undefined][] = [
      ['sweep', sweep && sweepFigure(sweep)],
      ['pipeline', pipeline && pipelineFigure(pipeline)],
      ['soak', soak && soakFigure(soak)],
      ['torch', torch && torchFigure(torch)],
    ];
    for (const [name, spec] of specs) {
      if (spec === undefined) continue;
      const png = join(plotsDir, `${name}.png`);
      await writePng(spec, png);
      figures[name] = relative(dirname(o.out), png);
      written.push(png);
      o.logger?.info({ figure: png }, 'bench report: figure written');
    }
  }
  await mkdir(dirname(o.out), { recursive: true });
  // The GPU section (issue 13) comes last, from bench/results/gpu-*.json; it says so when nothing is measured.
  const gpuResults = await readGpuResults(o.resultsDir);
  const gpu = gpuSection(gpuResults);
  // Issue 18: torch_check.py's run (the scorer service vs the paper loop on the GPU), its own section.
  const torchGpu = torchGpuSection(gpuResults.torch);
  const md = benchmarksMarkdown({ sweep, pipeline, soak, torch, backends, figures });
  // Hand-written sections (bench/hand-written/*.md) come last, so regenerating never drops them.
  const hand = handWrittenMarkdown(await readHandWritten(o.handWrittenDir ?? defaultHandWrittenDir()));
  // §9 (issue 14): where the scorer's time goes next to PyTorch, from bench/results/profile-*.json.
  const profiles = await readProfileResults(o.resultsDir);
  const profile = profileSection(profiles);
  // §10 (issue 14): the PyTorch grid, from bench/results/torch-grid.json, its misses pointing at §9.
  const grid = torchGridSection(await readTorchGrid(o.resultsDir), profiles);
  const parts = [md.trimEnd(), gpu.trimEnd(), torchGpu.trimEnd(), hand.trimEnd(), profile, grid].filter(
    (x) => x !== '',
  );
  await writeFile(o.out, `${parts.join('\n\n')}\n`);
  return { path: o.out, figures: written, included };
}
