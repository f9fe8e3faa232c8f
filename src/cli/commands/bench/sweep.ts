import type { Command } from 'commander';
import type { BackendChoice } from '../../../backend/choices.ts';
import { ConfigError } from '../../../errors.ts';
import { startMeta } from '../../../bench/machine.ts';
import { sweepTable } from '../../../bench/report/sweep-table.ts';
import { writeResult } from '../../../bench/results.ts';
import type { SweepConfig } from '../../../bench/scorer-sweep.ts';
import { PRESETS, type Preset } from '../../../model/config.ts';
import { intList, listOf, progressBar, resultsDir } from './common.ts';

/** Flags `--sweep` adds to `prism bench scorer` (the command itself is in ../bench.ts). */
export interface SweepFlags {
  sweep?: boolean;
  quick?: boolean;
  presets?: Preset[];
  batches?: number[];
  seqs?: number[];
  ceiling: boolean;
  ceilingSize?: number;
  results?: string;
  reps: number;
  backends: BackendChoice[];
  model?: string;
}

export function addSweepOptions(cmd: Command): Command {
  return cmd
    .option(
      '--sweep',
      'run a grid (default presets tiny,small × batch 8,16,32 × seq 128,256,512) and write bench/results/scorer-sweep.json',
    )
    .option(
      '--quick',
      'with --sweep: a 4-configuration subset that takes minutes on 2 cores (writes scorer-sweep.quick.json); with --record: writes scorer-backends.quick.json',
    )
    .option('--presets <list>', `with --sweep: presets (${PRESETS.join(',')})`, listOf(PRESETS))
    .option('--batches <list>', 'with --sweep: batch sizes, e.g. 8,16,32', intList)
    .option('--seqs <list>', 'with --sweep: sequence lengths, e.g. 128,256,512', intList)
    .option('--no-ceiling', 'with --sweep: skip measuring the fp32 matmul ceiling (OpenBLAS sgemm)')
    .option(
      '--ceiling-size <n>',
      'with --sweep: matrix size of the ceiling GEMM (default 2048)',
      (v) => intList(v)[0],
    )
    .option('--results <dir>', 'with --sweep or --record: results folder (default bench/results)');
}

function configsOf(flags: SweepFlags, g: typeof import('../../../bench/scorer-sweep.ts')): SweepConfig[] {
  const custom = flags.presets !== undefined || flags.batches !== undefined || flags.seqs !== undefined;
  if (!custom) return flags.quick === true ? g.quickGrid() : g.fullGrid();
  const full = { presets: ['tiny', 'small'] as Preset[], batches: [8, 16, 32], seqs: [128, 256, 512] };
  return g.grid(flags.presets ?? full.presets, flags.batches ?? full.batches, flags.seqs ?? full.seqs);
}

/** Runs the sweep when `--sweep` is given; returns false otherwise (the single-configuration bench runs). */
export async function runSweepIfAsked(flags: SweepFlags): Promise<boolean> {
  if (flags.sweep !== true) return false;
  if (flags.model !== undefined)
    throw new ConfigError('--sweep runs the built-in presets; drop --model (or use --presets)');
  if (flags.backends.length !== 1)
    throw new ConfigError('--sweep runs on one backend: give a single --backends value');
  const [sweep, { log }] = await Promise.all([
    import('../../../bench/scorer-sweep.ts'),
    import('../../../log.ts'),
  ]);
  const configs = configsOf(flags, sweep);
  const quick = flags.quick === true;
  const meta = startMeta({ quick });
  const dir = resultsDir(flags.results);
  const bar = progressBar('sweep [{bar}] {value}/{total} {config}');
  bar?.start(configs.length, 0, { config: '' });
  log.info(
    { configs: configs.length, reps: flags.reps, backend: flags.backends[0] },
    'scorer sweep: starting',
  );
  const result = await sweep
    .runSweep({
      configs,
      backend: flags.backends[0],
      reps: flags.reps,
      ceiling: flags.ceiling,
      ceilingN: flags.ceilingSize,
      logger: log,
      meta,
      onConfig: (i, c) => {
        bar?.update(i, { config: `${c.preset} ${c.batch}×${c.seq}` });
        log.info({ ...c, index: i + 1, of: configs.length }, 'scorer sweep: configuration');
      },
      onPartial: async (partial) => {
        await writeResult(dir, partial);
      },
    })
    .finally(() => bar?.stop());
  const path = await writeResult(dir, result);
  const c = result.ceiling;
  process.stdout.write(
    `backend ${result.backend.kind} · threads ${result.threads} · ceiling ${c === null ? 'not measured' : `${c.gflops.toFixed(1)} GFLOP/s (${c.method}, ${c.threads} thread(s))`} · load ${result.meta.loadStart.join('/')} → ${result.meta.loadEnd.join('/')}\n\n${sweepTable(result)}\n\nwrote ${path}\n`,
  );
  return true;
}
