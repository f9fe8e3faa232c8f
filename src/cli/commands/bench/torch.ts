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
    .option('--quick', 'tiny preset, batch 8 (writes torch.quick.json)')
    .option('--results <dir>', 'results folder (default bench/results)')
    .action(async (flags: TorchFlags) => {
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
