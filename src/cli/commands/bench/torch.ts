import { InvalidArgumentError, type Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../../backend/choices.ts';
import { startMeta } from '../../../bench/machine.ts';
import { torchTable, torchVersions } from '../../../bench/report/torch-table.ts';
import { writeResult } from '../../../bench/results.ts';
import { PRESETS, type Preset } from '../../../model/config.ts';
import { availableParallelism } from 'node:os';
import { intList, listOf, positiveInt, resultsDir } from './common.ts';

interface TorchFlags {
  presets?: Preset[];
  batch?: number;
  seq: number;
  reps: number;
  backend: BackendChoice;
  threads?: number[];
  python?: string;
  attn: 'sdpa' | 'eager';
  quick?: boolean;
  results?: string;
  model?: string[];
  seqs?: number[];
  check?: boolean;
}

/** `--model DIR…`: the grid; rows merge into torch-grid.json by (model, B, T, threads). */
async function runGrid(flags: TorchFlags, models: string[]): Promise<void> {
  const [{ runTorchGrid, gridTable, mergeGridRows }, { log }] = await Promise.all([
    import('../../../bench/torch-grid.ts'),
    import('../../../log.ts'),
  ]);
  const { readFile, writeFile, mkdir } = await import('node:fs/promises');
  const { join, resolve } = await import('node:path');
  const threads = flags.threads?.[0] ?? availableParallelism();
  const seqs = flags.seqs ?? [flags.seq];
  const batch = flags.batch ?? 16;
  const meta = startMeta({ quick: false });
  const rows = await runTorchGrid({
    configs: models.flatMap((m) => seqs.map((seq) => ({ model: resolve(m), batch, seq }))),
    threads,
    reps: flags.reps,
    backend: flags.backend,
    python: flags.python,
    attention: flags.attn,
    check: flags.check === true,
    logger: log,
  });
  const finished = meta.finish();
  const dir = resultsDir(flags.results);
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'torch-grid.json');
  let previous: Array<Record<string, unknown>> = [];
  try {
    previous = (JSON.parse(await readFile(path, 'utf8')) as { rows: Array<Record<string, unknown>> }).rows;
  } catch {
    // first run
  }
  const merged = mergeGridRows(
    previous,
    rows.map((r) => ({ ...r, meta: finished })),
  );
  await writeFile(path, `${JSON.stringify({ kind: 'torch-grid', rows: merged }, null, 2)}\n`);
  process.stdout.write(
    `load ${finished.loadStart.join('/')} → ${finished.loadEnd.join('/')}\n\n${gridTable(rows)}\n\nwrote ${path}\n`,
  );
}

export function registerTorch(bench: Command): void {
  bench
    .command('torch')
    .description(
      'PyTorch comparator (optional): the paper’s per-trajectory method in transformers vs our scorer, same model folder, ids and threads; writes bench/results/torch.json',
    )
    .option('--presets <list>', `presets (default ${PRESETS.join(',')}; --quick tiny)`, listOf(PRESETS))
    .option('--batch <n>', 'trajectories per model (default 16; --quick 8)', positiveInt)
    .option('--seq <t>', 'scored positions per trajectory', positiveInt, 128)
    .option('--reps <n>', 'timed passes (after one warm-up)', positiveInt, 1)
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_CHOICES.join(' | ')}`,
      (v: string) => {
        if (!(BACKEND_CHOICES as readonly string[]).includes(v))
          throw new InvalidArgumentError(`use ${BACKEND_CHOICES.join(', ')}`);
        return v as BackendChoice;
      },
      'auto',
    )
    .option(
      '--threads <list>',
      'thread counts to compare at, both sides (default: 1 and the core count)',
      intList,
    )
    .option(
      '--python <path>',
      'python with torch + transformers (default PRISM_TORCH_PYTHON, else bench/pytorch/.venv)',
    )
    .option(
      '--attn <impl>',
      'transformers attention: sdpa | eager',
      (v: string) => {
        if (v !== 'sdpa' && v !== 'eager') throw new InvalidArgumentError('use sdpa or eager');
        return v;
      },
      'sdpa',
    )
    .option(
      '--model <dirs>',
      'Hugging Face folders (comma-separated) instead of presets: the memory/speed grid, one fresh child per configuration and side, peak RSS both sides; merges into bench/results/torch-grid.json',
      (v: string) => v.split(',').map((d) => d.trim()),
    )
    .option('--seqs <list>', 'with --model: scored positions per trajectory, one grid row each', intList)
    .option(
      '--check',
      'with --model: also compare norms with PyTorch (scores the batch once more in this process)',
    )
    .option('--quick', 'tiny preset, batch 8 (writes torch.quick.json)')
    .option('--results <dir>', 'results folder (default bench/results)')
    .action(async (flags: TorchFlags) => {
      if (flags.model !== undefined) {
        await runGrid(flags, flags.model);
        return;
      }
      const quick = flags.quick === true;
      const [{ runTorchBench }, { log }] = await Promise.all([
        import('../../../bench/torch.ts'),
        import('../../../log.ts'),
      ]);
      const result = await runTorchBench({
        presets: flags.presets ?? (quick ? ['tiny'] : [...PRESETS]),
        batch: flags.batch ?? (quick ? 8 : 16),
        seq: flags.seq,
        reps: flags.reps,
        backend: flags.backend,
        threads: flags.threads ?? [...new Set([1, availableParallelism()])],
        python: flags.python,
        attention: flags.attn,
        logger: log,
        meta: startMeta({ quick }),
        onStep: (preset, threads) => log.info({ preset, threads }, 'torch bench: step'),
      });
      const path = await writeResult(resultsDir(flags.results), result);
      process.stdout.write(
        `${torchVersions(result)} · load ${result.meta.loadStart.join('/')} → ${result.meta.loadEnd.join('/')}\n\n${torchTable(result)}\n\nwrote ${path}\n`,
      );
    });
}
