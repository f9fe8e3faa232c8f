import { InvalidArgumentError, Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import { BACKEND_CHOICES, type BackendChoice } from '../../../backend/choices.ts';
import { ConfigError } from '../../../errors.ts';
import { PRESETS, type Preset } from '../../../model/config.ts';
import { positiveInt, resultsDir } from './common.ts';
import { TORCH_WAYS, type TorchWay } from '../../../bench/torch-way.ts';

interface ProfileFlags {
  preset?: Preset;
  model?: string;
  batch: number;
  seq: number;
  reps: number;
  profiled: number;
  threads?: number;
  path: 'auto' | 'batched' | 'per-trajectory';
  backend: BackendChoice;
  python?: string;
  attn: 'sdpa' | 'eager';
  torchWay: TorchWay;
  oursOnly?: boolean;
  top: number;
  results?: string;
}

function oneOf<T extends string>(choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(choices as readonly string[]).includes(v))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return v as T;
  };
}

/**
 * TensorFlow reads its pool sizes once, when tfjs-node loads: set them here, before anything loads it,
 * so both sides run at `threads` (a value already in the environment must agree).
 */
function pinThreads(threads: number): void {
  const want: Record<string, string> = {
    TF_NUM_INTRAOP_THREADS: String(threads),
    TF_NUM_INTEROP_THREADS: '1',
    OMP_NUM_THREADS: String(threads),
    OMP_WAIT_POLICY: 'PASSIVE',
  };
  const given = process.env.TF_NUM_INTRAOP_THREADS;
  if (given !== undefined && given !== '' && given !== String(threads))
    throw new ConfigError(
      `TF_NUM_INTRAOP_THREADS=${given} disagrees with --threads ${threads}: unset it or pass --threads ${given}`,
    );
  for (const [k, v] of Object.entries(want)) if ((process.env[k] ?? '') === '') process.env[k] = v;
}

/** The child side of runProfile: our side alone, one JSON line on stdout (bench/profile.ts oursInChild). */
async function oursOnly(flags: ProfileFlags): Promise<void> {
  if (flags.model === undefined) throw new ConfigError('--ours-only needs --model DIR');
  const [{ oursSide }, { log }, { resolve }] = await Promise.all([
    import('../../../bench/profile.ts'),
    import('../../../log.ts'),
    import('node:path'),
  ]);
  const out = await oursSide(
    {
      batch: flags.batch,
      seq: flags.seq,
      reps: flags.reps,
      profiled: flags.profiled,
      path: flags.path,
      backend: flags.backend,
      logger: log,
    },
    resolve(flags.model),
  );
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function action(flags: ProfileFlags): Promise<void> {
  if ((flags.model === undefined) === (flags.preset === undefined))
    throw new ConfigError('give exactly one of --model DIR or --preset NAME');
  const envThreads = Number(process.env.TF_NUM_INTRAOP_THREADS);
  const threads = flags.threads ?? (envThreads > 0 ? envThreads : availableParallelism());
  pinThreads(threads);
  if (flags.oursOnly === true) return oursOnly(flags);
  const [{ runProfile, profileFileName }, { profileTable }, { startMeta }, { log }, fs, path] =
    await Promise.all([
      import('../../../bench/profile.ts'),
      import('../../../bench/profile-table.ts'),
      import('../../../bench/machine.ts'),
      import('../../../log.ts'),
      import('node:fs/promises'),
      import('node:path'),
    ]);
  const source =
    flags.model !== undefined ? { modelDir: path.resolve(flags.model) } : { preset: flags.preset as Preset };
  const result = await runProfile({
    source,
    batch: flags.batch,
    seq: flags.seq,
    reps: flags.reps,
    profiled: flags.profiled,
    threads,
    path: flags.path,
    backend: flags.backend,
    python: flags.python,
    attention: flags.attn,
    torchWay: flags.torchWay,
    logger: log,
    meta: startMeta({ quick: false }),
  });
  const dir = resultsDir(flags.results);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(
    dir,
    profileFileName({ source, batch: flags.batch, seq: flags.seq, torchWay: flags.torchWay }),
  );
  await fs.writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${profileTable(result, flags.top)}\n\nwrote ${file}\n`);
}

export function registerProfile(bench: Command): void {
  bench
    .command('profile')
    .description(
      "op-level profile of micro-batches on both sides of `bench torch` (tf.profile by scorer phase; torch.profiler of PyTorch's paper loop or hook path); writes bench/results/profile-<model>-<B>x<T>[-hooks].json",
    )
    .option('--preset <name>', `random built-in model (seed 0): ${PRESETS.join(' | ')}`, oneOf(PRESETS))
    .option('--model <dir>', 'Hugging Face model folder instead')
    .option('--batch <n>', 'trajectories per micro-batch', positiveInt, 8)
    .option('--seq <t>', 'scored positions per trajectory', positiveInt, 128)
    .option('--reps <n>', 'unprofiled timed batches per side (after one warm-up)', positiveInt, 2)
    .option(
      '--profiled <n>',
      'batches scored under the profiler per side (their op times add up)',
      positiveInt,
      2,
    )
    .option(
      '--threads <n>',
      'threads, both sides (default TF_NUM_INTRAOP_THREADS, else the core count)',
      positiveInt,
    )
    .option(
      '--path <p>',
      'our scorer path: auto | batched | per-trajectory',
      oneOf(['auto', 'batched', 'per-trajectory'] as const),
      'auto',
    )
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_CHOICES.join(' | ')}`,
      oneOf(BACKEND_CHOICES),
      'tensorflow',
    )
    .option(
      '--python <path>',
      'python with torch + transformers (default PRISM_TORCH_PYTHON, else bench/pytorch/.venv)',
    )
    .option(
      '--attn <impl>',
      'transformers attention: sdpa | eager',
      oneOf(['sdpa', 'eager'] as const),
      'sdpa',
    )
    .option(
      '--torch-way <way>',
      `PyTorch's side: ${TORCH_WAYS.join(' | ')} (its paper loop, or batched norms from hooks: hooks_torch.py, needs clients/python installed)`,
      oneOf(TORCH_WAYS),
      'loop',
    )
    .addOption(
      new Option(
        '--ours-only',
        'internal: run our side alone and print it as JSON (the child runProfile spawns)',
      ).hideHelp(),
    )
    .option('--top <n>', 'ops per side in the table', positiveInt, 12)
    .option('--results <dir>', 'results folder (default bench/results)')
    .action(action);
}
