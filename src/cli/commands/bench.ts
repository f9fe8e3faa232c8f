import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/choices.ts';
import { ConfigError } from '../../errors.ts';
import { ARCHS, PRESETS, type Arch, type Preset } from '../../model/config.ts';
import { memoryCapMB, positiveInt } from './bench/common.ts';
import { registerBenchmarks } from './bench/index.ts';
import { startRecord } from './bench/record.ts';
import { runSweepIfAsked, type SweepFlags } from './bench/sweep.ts';


function backendList(v: string): BackendChoice[] {
  const list = v.split(',').map((s) => s.trim());
  for (const b of list) {
    if (!(BACKEND_CHOICES as readonly string[]).includes(b))
      throw new InvalidArgumentError(`unknown backend ${b}; use ${BACKEND_CHOICES.join(', ')}`);
  }
  return list as BackendChoice[];
}

function oneOf<T extends string>(choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(choices as readonly string[]).includes(v))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return v as T;
  };
}

interface ScorerBenchFlags extends SweepFlags {
  model?: string;
  preset?: Preset;
  arch: Arch;
  batch: number;
  seq: number;
  reps: number;
  backends: BackendChoice[];
  json?: boolean;
  record?: boolean;
  rows?: string[];
  maxBatchMemoryMb: number | 'auto';
}

type BenchRowName = 'batched' | 'per-trajectory' | 'auto' | 'reference' | 'train-step';

function registerScorer(bench: Command): void {
  bench
    .command('scorer')
    .description(
      'time the PRISM scorer paths (batched, per-trajectory, auto), the paper’s full backward, and a training step',
    )
    .option('--model <dir>', 'probe model folder')
    .option('--preset <name>', `random built-in model instead: ${PRESETS.join(' | ')}`, oneOf(PRESETS))
    .option('--arch <name>', `preset variant: ${ARCHS.join(' | ')}`, oneOf(ARCHS), 'llama')
    .option('--batch <n>', 'trajectories per micro-batch', positiveInt, 16)
    .option('--seq <t>', 'scored positions per trajectory', positiveInt, 128)
    .option('--reps <n>', 'timed repetitions per row (after one warm-up)', positiveInt, 2)
    .option('--backends <list>', `comma-separated: ${BACKEND_CHOICES.join(', ')}`, backendList, [
      'auto',
    ] as BackendChoice[])
    .option(
      '--rows <list>',
      'only these rows: batched,per-trajectory,auto,reference,train-step (one per process = its own peak RSS)',
      (v: string) => v.split(',').map((r) => r.trim()),
    )
    .option(
      '--max-batch-memory-mb <mb>',
      'scorer.maxBatchMemoryMB of the scorer rows: auto (the default configuration) or MiB',
      memoryCapMB,
      'auto' as const,
    )
    .option('--json', 'print one JSON document per backend instead of tables')
    .option(
      '--record',
      'also write bench/results/scorer-backends.json (all --backends in one file; `bench report` turns it into a section)',
    )
    .action(async (flags: ScorerBenchFlags) => {
      if (await runSweepIfAsked(flags)) return;
      if ((flags.model === undefined) === (flags.preset === undefined))
        throw new ConfigError('give exactly one of --model DIR or --preset NAME');
      // Loaded on use, so `prism --help` and the other commands do not pay for tfjs and pino.
      const [{ formatBench, runScorerBench }, { log }, { maxBatchBytesOf }] = await Promise.all([
        import('../../scorer-host/bench.ts'),
        import('../../log.ts'),
        import('../../config/scorer.ts'),
      ]);
      const source =
        flags.model !== undefined
          ? { modelDir: flags.model }
          : { preset: { preset: flags.preset as Preset, arch: flags.arch, seed: 0 } };
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar(
            {
              format: 'bench [{bar}] {value}/{total} {backend} {row}',
              stream: process.stderr,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
      bar?.start(flags.backends.length * 5, 0, { backend: '', row: '' });
      let done = 0;
      const record = startRecord(flags);
      const results = await runScorerBench({
        source,
        batch: flags.batch,
        seq: flags.seq,
        backends: flags.backends,
        reps: flags.reps,
        logger: log,
        rows: flags.rows as BenchRowName[] | undefined,
        maxBatchBytes: maxBatchBytesOf(flags.maxBatchMemoryMb),
        onRow: (backend, row) => {
          bar?.update(done++, { backend, row });
          log.debug({ backend, row }, 'bench row');
        },
      }).finally(() => bar?.stop());
      for (const r of results)
        process.stdout.write(flags.json === true ? `${JSON.stringify(r)}\n` : `${formatBench(r)}\n\n`);
      // With --json, stdout stays one JSON document per line.
      if (record !== undefined)
        (flags.json === true ? process.stderr : process.stdout).write(await record(results));
    });
}

/**
 * `prism bench <what>`. Each benchmark is one subcommand registered by a function below; add
 * `bench pipeline` / `bench soak` by writing their register function and listing it in SUBCOMMANDS.
 */
const SUBCOMMANDS: ReadonlyArray<(bench: Command) => void> = [registerScorer, registerBenchmarks];

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('throughput benchmarks (numbers go here, not into tests)');
  for (const add of SUBCOMMANDS) add(bench);
}
