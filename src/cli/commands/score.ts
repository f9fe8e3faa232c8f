import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { createReadStream, createWriteStream } from 'node:fs';
import { routeFor } from '../../arbitration/policy.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/choices.ts';
import type { ScorerConfig } from '../../config/scorer.ts';
import { METRICS, NORM_METHODS, SCORER_PATHS, type ScorerPathSetting } from '../../config/scorer-choices.ts';
import { ConfigError, PrismError, errorMessage } from '../../errors.ts';
import type { RecordFileWriter } from '../../io/files.ts';
import type { Logger } from '../../log.ts';
import type { Metric, PrismScores, Trajectory } from '../../schemas/types.ts';
import type { Scorer } from '../../scorer/types.ts';
import type { NormMethodSetting } from '../../scorer/norms.ts';
import { assertModelDir } from '../model-dir.ts';
import { memoryCapMB, positiveInt } from './bench/common.ts';

function finite(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

function oneOf<T extends string>(choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(choices as readonly string[]).includes(v))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return v as T;
  };
}

/** Newlines in a JSONL file, for the progress bar's total (0 = unknown: stdin or Avro). */
async function countLines(path: string, format: string): Promise<number> {
  if (path === '-' || format !== 'jsonl') return 0;
  let n = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  }
  return n;
}

interface ScoreFlags {
  model: string;
  in: string;
  out: string;
  batch: number;
  maxBatchMemoryMb: number | 'auto';
  maxBatchTokens: number;
  maxSeqLen: number;
  emitNorms?: boolean;
  metric: Metric;
  threshold?: number;
  backend: BackendChoice;
  path: ScorerPathSetting;
  normMethod: NormMethodSetting;
  thread: 'worker' | 'main';
  progress: boolean;
  scorer: 'prism' | 'torch';
  device: string;
  dtype: 'auto' | 'fp32' | 'tf32' | 'bf16';
  python: string;
  threads: number;
}

/** Input records in order; bad ones wait with the batch so the output keeps the input order. */
type Pending =
  | { position: number; trajectory: Trajectory; error?: undefined }
  | { position: number; trajectory: Partial<Trajectory> | undefined; error: PrismError };

type CliScorer = Scorer & { readonly path?: string };

export function register(program: Command): void {
  const cmd = program
    .command('score')
    .description('score trajectories offline with PRISM (JSONL or Avro in, one JSON object per line out)')
    .requiredOption('--model <dir>', 'probe model folder (config.json + *.safetensors)')
    .requiredOption('--in <file>', 'trajectories: .jsonl/.ndjson or .avro; - for JSONL on stdin')
    .requiredOption('--out <file>', 'scores as JSONL; - for stdout')
    .option('--batch <n>', 'trajectories per micro-batch', positiveInt, 16)
    .option(
      '--max-batch-tokens <n>',
      'cap on trajectories × longest length per forward/backward',
      positiveInt,
      16384,
    )
    .option(
      '--max-batch-memory-mb <n>',
      'cap on the estimated working memory of one scorer pass: MiB, or auto = weights + 2 trajectories (src/scorer/memory.ts)',
      memoryCapMB,
      'auto' as const,
    )
    .option('--max-seq-len <t>', 'tokens per trajectory (longer ones are truncated)', positiveInt, 1024)
    .option('--emit-norms', 'include the 7L gradient-norm vector in each score')
    .option('--metric <m>', `routing statistic: ${METRICS.join(' | ')}`, oneOf(METRICS), 'gini')
    .option('--threshold <x>', 'route: metric > x → RL, else SFT (no routing without it)', finite)
    .option('--backend <b>', `tfjs backend: ${BACKEND_CHOICES.join(' | ')}`, oneOf(BACKEND_CHOICES), 'auto')
    .option('--path <p>', `scorer path: ${SCORER_PATHS.join(' | ')}`, oneOf(SCORER_PATHS), 'auto')
    .option(
      '--norm-method <m>',
      `batched-path norm formula: ${NORM_METHODS.join(' | ')}`,
      oneOf(NORM_METHODS),
      'auto',
    );
  torchOptions(cmd)
    .option(
      '--thread <t>',
      'scorer prism: worker (a worker thread holds the model) | main (this thread)',
      oneOf(['worker', 'main'] as const),
      'worker',
    )
    .option('--no-progress', 'no progress bar on stderr')
    .action(runScore);
}

function torchOptions(cmd: Command): Command {
  return cmd
    .option(
      '--scorer <kind>',
      'prism (tfjs, in process) | torch (the PyTorch scorer service, spawned)',
      oneOf(['prism', 'torch'] as const),
      'prism',
    )
    .option('--device <d>', 'scorer torch: auto | cpu | cuda | cuda:N', 'auto')
    .option(
      '--dtype <t>',
      'scorer torch: auto | fp32 | tf32 | bf16',
      oneOf(['auto', 'fp32', 'tf32', 'bf16'] as const),
      'auto',
    )
    .option('--python <exe>', 'scorer torch: Python with torch and transformers', 'python3')
    .option('--threads <n>', "scorer torch: the service's CPU threads (0 = torch's default)", Number, 0);
}

/** The scorer the flags name: the torch service, or the tfjs scorer in a worker thread (default) or here. */
async function openScorer(flags: ScoreFlags, log: Logger): Promise<CliScorer> {
  const settings: Partial<ScorerConfig> = {
    modelDir: flags.model,
    backend: flags.backend,
    path: flags.path,
    normMethod: flags.normMethod,
    batchSize: flags.batch,
    maxBatchMemoryMB: flags.maxBatchMemoryMb,
    maxBatchTokens: flags.maxBatchTokens,
    maxSeqLen: flags.maxSeqLen,
    emitNorms: flags.emitNorms === true,
    metric: flags.metric,
  };
  if (flags.scorer === 'torch') {
    const { openTorchScorer } = await import('../../scorer-host/torch/open.ts');
    const torch = { device: flags.device, dtype: flags.dtype, python: flags.python, threads: flags.threads };
    return openTorchScorer({ ...settings, torch }, { logger: log });
  }
  if (flags.thread === 'worker') {
    // Only trajectories go to the worker and score vectors come back; no tfjs op runs on this thread.
    const { WorkerScorer } = await import('../../scorer-host/worker/worker-scorer.ts');
    return WorkerScorer.open({ config: { ...settings, thread: 'worker' } }, { logger: log });
  }
  const { openPrismScorer } = await import('../../scorer-host/open.ts');
  return (await openPrismScorer(settings, { logger: log })).scorer;
}

/** Counts, the progress bar and the output lines of one `prism score` run. */
class ScoreOutput {
  readonly counts = { scored: 0, bad: 0, byCode: {} as Record<string, number>, SFT: 0, RL: 0 };
  readonly started = performance.now();
  private readonly bar: cliProgress.SingleBar | undefined;

  constructor(
    private readonly flags: ScoreFlags,
    private readonly scorer: CliScorer,
    private readonly writer: RecordFileWriter<unknown>,
  ) {
    this.bar =
      flags.progress && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            {
              format: `score [{bar}] {value}/{total} | {rate} traj/s | bad {bad}`,
              stream: process.stderr,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
  }

  start(total: number): void {
    this.bar?.start(total, 0, { bad: 0, rate: '0.0' });
  }

  private report(): void {
    const { scored, bad } = this.counts;
    const rate = (scored / Math.max(1e-3, (performance.now() - this.started) / 1000)).toFixed(1);
    this.bar?.update(scored + bad, { bad, rate });
  }

  private async writeBad(
    position: number,
    t: Partial<Trajectory> | undefined,
    err: PrismError,
  ): Promise<void> {
    this.counts.bad++;
    this.counts.byCode[err.code] = (this.counts.byCode[err.code] ?? 0) + 1;
    await this.writer.write({
      id: t?.id ?? null,
      task_id: t?.task_id ?? null,
      position,
      error: { code: err.code, message: err.message },
    });
  }

  private async writeScored(t: Trajectory, s: PrismScores): Promise<void> {
    const { metric, threshold } = this.flags;
    const route = threshold === undefined ? undefined : routeFor(s[metric], threshold);
    if (route) this.counts[route]++;
    this.counts.scored++;
    await this.writer.write({
      id: t.id,
      task_id: t.task_id,
      prism: {
        ...s,
        metric,
        ...(route ? { threshold, route } : {}),
        probe_model_id: this.scorer.probeModelId,
        probe_model_version: this.scorer.probeModelVersion,
        scored_at: Date.now(),
      },
    });
  }

  /** Scores the good records of `batch` in one call and writes every record's line in input order. */
  async flush(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    const good = batch.filter((p): p is Extract<Pending, { error?: undefined }> => p.error === undefined);
    const outcomes = await scoreSafely(this.scorer, good);
    let next = 0;
    for (const item of batch) {
      if (item.error !== undefined) {
        await this.writeBad(item.position, item.trajectory, item.error);
        continue;
      }
      const o = outcomes[next++];
      if (o.ok) await this.writeScored(item.trajectory, o.scores);
      else await this.writeBad(item.position, item.trajectory, o.error);
    }
    this.report();
  }

  stop(): void {
    this.bar?.stop();
  }

  summary(): string {
    const { counts, flags, scorer } = this;
    const seconds = (performance.now() - this.started) / 1000;
    const codes = Object.entries(counts.byCode)
      .map(([c, n]) => `${c}: ${n}`)
      .join(', ');
    return (
      `scored ${counts.scored}, bad ${counts.bad}${counts.bad > 0 ? ` (${codes})` : ''}` +
      `${flags.threshold !== undefined ? `, SFT ${counts.SFT}, RL ${counts.RL}` : ''} in ${seconds.toFixed(1)} s on ${scorer.backend} (${scorer.path ?? 'n/a'} path)\n`
    );
  }
}

async function runScore(flags: ScoreFlags): Promise<void> {
  if (flags.maxSeqLen < 2) throw new ConfigError('--max-seq-len must be at least 2');
  assertModelDir(flags.model, '--model');
  // Loaded on use, so other commands and --help do not pay for tfjs, avsc and pino.
  const [{ fileFormatOf, jsonlWriter, readRecordFile }, { log }, { validateTrajectory }] = await Promise.all([
    import('../../io/files.ts'),
    import('../../log.ts'),
    import('../validate-records.ts'),
  ]);
  const format = fileFormatOf(flags.in); // fails early on an unknown extension
  if (flags.out !== '-' && fileFormatOf(flags.out) !== 'jsonl')
    throw new ConfigError('--out must be a .jsonl file or -');
  const scorer = await openScorer(flags, log);
  const stream = flags.out === '-' ? process.stdout : createWriteStream(flags.out);
  const writer = jsonlWriter<unknown>(stream, flags.out !== '-', flags.out);
  const out = new ScoreOutput(flags, scorer, writer);
  out.start(await countLines(flags.in, format));
  let pending: Pending[] = [];
  let scorable = 0;
  try {
    for await (const r of readRecordFile(flags.in, 'trajectory')) {
      if (!r.ok) {
        pending.push({ position: r.position, trajectory: undefined, error: r.error });
        continue;
      }
      try {
        pending.push({ position: r.position, trajectory: validateTrajectory(r.value) });
        scorable++;
      } catch (err) {
        if (!(err instanceof PrismError)) throw err;
        pending.push({ position: r.position, trajectory: r.value, error: err });
      }
      if (scorable >= flags.batch || pending.length >= 4096) {
        scorable = 0;
        await out.flush(pending);
        pending = [];
      }
    }
    await out.flush(pending);
  } finally {
    out.stop();
    scorer.dispose();
    await writer.close();
  }
  const seconds = (performance.now() - out.started) / 1000;
  log.info(
    {
      in: flags.in,
      format,
      out: flags.out,
      ...out.counts,
      seconds: Number(seconds.toFixed(2)),
      trajectoriesPerSec: Number((out.counts.scored / seconds).toFixed(2)),
      path: scorer.path,
      backend: scorer.backend,
    },
    'score finished',
  );
  process.stderr.write(out.summary());
}

/** scoreBatch never throws for a bad record; if the backend itself fails, mark the whole batch and go on. */
async function scoreSafely(scorer: Scorer, batch: ReadonlyArray<{ trajectory: Trajectory }>) {
  try {
    return await scorer.scoreBatch(batch.map((p) => p.trajectory));
  } catch (err) {
    const error = err instanceof PrismError ? err : new PrismError('SCORING_FAILED', errorMessage(err));
    return batch.map(() => ({ ok: false as const, error }));
  }
}
