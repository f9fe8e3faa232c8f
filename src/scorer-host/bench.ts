import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendChoice, type BackendInfo } from '../backend/index.ts';
import type { Logger } from '../log.ts';
import type { LlamaModel } from '../model/index.ts';
import type { Trajectory } from '../schemas/types.ts';
import {
  batchTensors,
  buildSequence,
  packBatch,
  perExampleLoss,
  type BuiltSequence,
  type PackedBatch,
} from '../sequence/index.ts';
import { concentrationStats } from '../stats/index.ts';
import { flopModel } from '../scorer/flops.ts';
import { referenceNorms, trainingStepGrads } from '../scorer/norms.ts';
import { openProbeModel, type OpenedProbe, type ProbeSource } from './open.ts';
import { PrismScorer } from '../scorer/prism-scorer.ts';
import type { Calibration, ScorerPath } from '../scorer/path.ts';

/**
 * `prism bench scorer`: on one synthetic micro-batch, times every way of getting PRISM scores
 * (batched probes, per-trajectory, what `auto` picks, the paper's full backward per trajectory) and
 * one plain training step for scale, on each requested backend.
 */
export interface ScorerBenchOptions {
  source: ProbeSource;
  batch: number;
  /** Scored positions per trajectory. */
  seq: number;
  backends: BackendChoice[];
  /** Timed repetitions per row (after one untimed warm-up). */
  reps: number;
  logger: Logger;
  /** Called before each timed row (progress). */
  onRow?: (backend: string, row: string) => void;
  /** The scorer's memory cap: bytes or `auto` (the CLI passes the configuration default, as `prism score` runs). */
  maxBatchBytes?: number | 'auto';
  /** Only these rows (default: all). One row per process gives that row's own peak RSS. */
  rows?: readonly BenchRow['name'][];
}

export interface BenchRow {
  name: 'batched' | 'per-trajectory' | 'auto' | 'reference' | 'train-step';
  /** For `auto`: the path it chose. */
  path?: ScorerPath;
  /** Wall time per batch. */
  ms: number;
  /** Process CPU time (user + system) per batch: steadier than wall time on a shared machine; excludes GPU time. */
  cpuMs: number;
  trajectoriesPerSec: number;
  tokensPerSec: number;
  gflop: number;
  gflopPerSec: number;
}

export interface ScorerBenchResult {
  backend: BackendInfo;
  model: { id: string; layers: number; hidden: number; vocab: number; parameters: number };
  batch: number;
  seq: number;
  tokens: number;
  reps: number;
  rows: BenchRow[];
  chosenPath: ScorerPath | undefined;
  /** The `auto` row's calibration: both paths timed on the first batch (absent for one-trajectory batches). */
  calibration?: Calibration;
  /** Reference wall time / chosen (auto) wall time. */
  speedupVsReference: number;
  /** The same in CPU time. */
  speedupVsReferenceCpu: number;
  /** Peak resident set size of this process so far (MiB): run one row per process to attribute it. */
  peakRssMB?: number;
}

/** B trajectories of exactly `seq` scored positions: a quarter prompt, the rest assistant tokens. */
export function syntheticTrajectories(batch: number, seq: number, vocab: number, seed = 1): Trajectory[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  };
  const prompt = Math.max(1, Math.floor((seq + 1) / 4));
  return Array.from({ length: batch }, (_, i) => ({
    id: `bench-${i}`,
    task_id: `bench-task-${i % 4}`,
    env: null,
    turns: [
      { role: 'user' as const, content: '', token_ids: Array.from({ length: prompt }, next), logprobs: null },
      {
        role: 'assistant' as const,
        content: '',
        token_ids: Array.from({ length: seq + 1 - prompt }, next),
        logprobs: null,
      },
    ],
    reward: null,
    metadata: {},
    created_at: 0,
    behavior_model_version: null,
  }));
}

interface Timing {
  ms: number;
  cpuMs: number;
}

/** Mean wall and CPU time of `reps` calls, after one untimed warm-up (kernel setup, allocator growth). */
async function timeIt(reps: number, f: () => unknown, warm = true): Promise<Timing> {
  if (warm) await f();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) await f();
  const c = process.cpuUsage(c0);
  return { ms: (performance.now() - t0) / reps, cpuMs: (c.user + c.system) / 1000 / reps };
}

/** What every row of one backend's bench shares: the model, the micro-batch and its FLOP counts. */
interface BenchContext {
  readonly opts: ScorerBenchOptions;
  readonly backend: BackendInfo;
  readonly probe: OpenedProbe;
  readonly maxSeqLen: number;
  readonly trajs: Trajectory[];
  readonly seqs: BuiltSequence[];
  readonly packed: PackedBatch;
  readonly tokens: number;
  readonly flops: { batched: number; perTrajectory: number; reference: number; train: number };
}

function benchContext(opts: ScorerBenchOptions, backend: BackendInfo, probe: OpenedProbe): BenchContext {
  const c = probe.model.config;
  const maxSeqLen = opts.seq + 1;
  const trajs = syntheticTrajectories(opts.batch, opts.seq, c.vocab_size);
  const seqs: BuiltSequence[] = trajs.map((t) =>
    buildSequence(t.turns, { tokenizer: null, vocabSize: c.vocab_size, maxSeqLen }),
  );
  const packed = packBatch(seqs, maxSeqLen);
  const lengths = Array.from(packed.lengths);
  const fm = flopModel(c);
  const sumOwn = (f: (T: number) => number): number => lengths.reduce((s, T) => s + f(T), 0);
  const Tp = packed.T;
  const flops = {
    batched: opts.batch * (fm.forward(Tp) + fm.backwardActivations(Tp) + fm.norms(Tp)),
    perTrajectory: sumOwn((T) => fm.forward(T) + fm.backwardActivations(T) + fm.projectionWeightGrads(T)),
    reference: sumOwn((T) => fm.forward(T) + fm.backwardActivations(T) + fm.allWeightGrads(T)),
    train: opts.batch * (fm.forward(Tp) + fm.backwardActivations(Tp) + fm.allWeightGrads(Tp)),
  };
  const tokens = lengths.reduce((a, b) => a + b, 0);
  return { opts, backend, probe, maxSeqLen, trajs, seqs, packed, tokens, flops };
}

function benchRow(
  ctx: BenchContext,
  name: BenchRow['name'],
  t: Timing,
  gflop: number,
  path?: ScorerPath,
): BenchRow {
  const { ms, cpuMs } = t;
  return {
    name,
    ...(path ? { path } : {}),
    ms,
    cpuMs,
    trajectoriesPerSec: (ctx.opts.batch * 1000) / ms,
    tokensPerSec: (ctx.tokens * 1000) / ms,
    gflop: gflop / 1e9,
    gflopPerSec: gflop / 1e6 / ms,
  };
}

function wants(ctx: BenchContext, name: BenchRow['name']): boolean {
  const want = ctx.opts.rows === undefined || ctx.opts.rows.includes(name);
  if (want) ctx.opts.onRow?.(ctx.backend.kind, name);
  return want;
}

/** The PRISM scorer's rows: batched, per-trajectory and what `auto` picks (after its calibration batch). */
async function scorerRows(
  ctx: BenchContext,
): Promise<{ rows: BenchRow[]; chosen: ScorerPath | undefined; calibration?: Calibration }> {
  const { opts, probe, trajs, flops } = ctx;
  const scorer = (path: 'batched' | 'per-trajectory' | 'auto'): PrismScorer =>
    new PrismScorer({
      model: probe.model,
      tokenizer: probe.tokenizer,
      ...probe.identity,
      backend: ctx.backend.kind,
      maxSeqLen: ctx.maxSeqLen,
      batchSize: opts.batch,
      emitNorms: false,
      path,
      maxBatchBytes: opts.maxBatchBytes,
      ownsModel: false,
      logger: opts.logger,
    });
  const rows: BenchRow[] = [];
  for (const path of ['batched', 'per-trajectory'] as const) {
    if (!wants(ctx, path)) continue;
    const s = scorer(path);
    const timing = await timeIt(opts.reps, () => s.scoreBatch(trajs));
    rows.push(benchRow(ctx, path, timing, path === 'batched' ? flops.batched : flops.perTrajectory));
  }
  let chosen: ScorerPath | undefined;
  let calibration: Calibration | undefined;
  if (wants(ctx, 'auto')) {
    const auto = scorer('auto');
    await auto.scoreBatch(trajs); // calibration batch (times both paths itself)
    // One trajectory per batch never calibrates: it always takes the per-trajectory path (path.ts).
    chosen = auto.path ?? (opts.batch === 1 ? 'per-trajectory' : undefined);
    calibration = auto.calibration;
    const timing = await timeIt(opts.reps, () => auto.scoreBatch(trajs), false);
    rows.push(
      benchRow(ctx, 'auto', timing, chosen === 'batched' ? flops.batched : flops.perTrajectory, chosen),
    );
  }
  return { rows, chosen, ...(calibration === undefined ? {} : { calibration }) };
}

/** The paper's loop: one full backward per trajectory (every weight), then the per-matrix norms. */
async function referenceRow(ctx: BenchContext): Promise<BenchRow> {
  const model = ctx.probe.model;
  const timing = await timeIt(ctx.opts.reps, async () => {
    for (const s of ctx.seqs) {
      const t = batchTensors(packBatch([s], ctx.maxSeqLen));
      try {
        const r = await referenceNorms(model, t.inputIds, (logits) =>
          perExampleLoss(logits, t.targetIds, t.targetMask),
        );
        concentrationStats(r.norms[0]);
      } finally {
        tf.dispose([t.inputIds, t.targetIds, t.targetMask]);
      }
    }
  });
  return benchRow(ctx, 'reference', timing, ctx.flops.reference);
}

/** One plain batched forward + backward with every weight gradient (no optimizer), for scale. */
async function trainStepRow(ctx: BenchContext): Promise<BenchRow> {
  const t = batchTensors(ctx.packed);
  try {
    const timing = await timeIt(ctx.opts.reps, () =>
      trainingStepGrads(ctx.probe.model, t.inputIds, (logits) =>
        perExampleLoss(logits, t.targetIds, t.targetMask),
      ),
    );
    return benchRow(ctx, 'train-step', timing, ctx.flops.train);
  } finally {
    tf.dispose([t.inputIds, t.targetIds, t.targetMask]);
  }
}

async function benchOne(choice: BackendChoice, opts: ScorerBenchOptions): Promise<ScorerBenchResult> {
  const backend = await selectBackend(choice, { logger: opts.logger });
  const probe = await openProbeModel(opts.source);
  const model: LlamaModel = probe.model;
  try {
    const ctx = benchContext(opts, backend, probe);
    const { rows, chosen, calibration } = await scorerRows(ctx);
    const ref = wants(ctx, 'reference') ? await referenceRow(ctx) : undefined;
    if (ref !== undefined) rows.push(ref);
    if (wants(ctx, 'train-step')) rows.push(await trainStepRow(ctx));
    const autoRow = rows.find((r) => r.name === 'auto');
    const c = model.config;
    return {
      backend,
      model: {
        id: probe.identity.probeModelId,
        layers: c.num_hidden_layers,
        hidden: c.hidden_size,
        vocab: c.vocab_size,
        parameters: model.parameterCount(),
      },
      batch: opts.batch,
      seq: opts.seq,
      tokens: ctx.tokens,
      reps: opts.reps,
      rows,
      chosenPath: chosen,
      ...(calibration === undefined ? {} : { calibration }),
      speedupVsReference: (ref?.ms ?? Number.NaN) / (autoRow?.ms ?? Number.NaN),
      speedupVsReferenceCpu: (ref?.cpuMs ?? Number.NaN) / (autoRow?.cpuMs ?? Number.NaN),
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    model.dispose();
  }
}

export async function runScorerBench(opts: ScorerBenchOptions): Promise<ScorerBenchResult[]> {
  const out: ScorerBenchResult[] = [];
  for (const b of opts.backends) out.push(await benchOne(b, opts));
  return out;
}

/** Human-readable table of one backend's results. */
export function formatBench(r: ScorerBenchResult): string {
  const head = `backend ${r.backend.kind}${r.backend.simd !== undefined ? ` (simd ${r.backend.simd}, threads ${r.backend.threads})` : ''} · model ${r.model.id} (${r.model.layers} layers, d ${r.model.hidden}, vocab ${r.model.vocab}, ${(r.model.parameters / 1e6).toFixed(2)} M params) · batch ${r.batch} × seq ${r.seq} (${r.tokens} tokens) · ${r.reps} rep(s)`;
  const lines = [head, 'row             wall ms/batch  cpu ms/batch   traj/s    tok/s   GFLOP  GFLOP/s'];
  for (const row of r.rows) {
    const name = row.name === 'auto' ? `auto→${row.path ?? '?'}` : row.name;
    lines.push(
      `${name.padEnd(15)} ${row.ms.toFixed(0).padStart(13)} ${row.cpuMs.toFixed(0).padStart(13)} ${row.trajectoriesPerSec.toFixed(2).padStart(8)} ${row.tokensPerSec.toFixed(0).padStart(8)} ${row.gflop.toFixed(2).padStart(7)} ${row.gflopPerSec.toFixed(2).padStart(8)}`,
    );
  }
  lines.push(
    `chosen path: ${r.chosenPath ?? '?'} · speed-up over the paper's reference: ${r.speedupVsReference.toFixed(2)}× wall, ${r.speedupVsReferenceCpu.toFixed(2)}× cpu`,
  );
  return lines.join('\n');
}
