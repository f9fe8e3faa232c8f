import type { Kafka, Producer } from 'kafkajs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arbitrationSection } from '../../config/arbitrator.ts';
import { batchSection, consumerSection } from '../../config/schema.ts';
import { errorMessage } from '../../errors.ts';
import { createKafka } from '../../kafka/client.ts';
import { PLAINTEXT_SECURITY } from '../../kafka/security/resolve.ts';
import { freePorts } from '../../kafka/local/net.ts';
import type { Logger } from '../../log.ts';
import type { RunMeta } from '../machine.ts';
import type { ResultBase } from '../results.ts';
import { summarize, type Summary } from '../stats.ts';
import { PLAIN_LOOP_RETRY_MS } from './baseline.ts';
import type { PipelineColumn } from './columns.ts';
import { openBenchBroker } from './broker.ts';
import { startPrismChild, type BenchChild, type MemorySample } from './child.ts';
import { LatencyObserver } from './observer.ts';
import { downsample, drain, warmUp, type DrainResult } from './phases.ts';
import { diffHistogram, histogramQuantile, parseHistogram, scrape, type Histogram } from './prom.ts';
import {
  createBenchTopics,
  deleteBenchTopics,
  prismRunArgs,
  writeTinyModel,
  type BenchTopics,
} from './setup.ts';
import { Workload, pacedLoad } from './workload.ts';

/**
 * `prism bench pipeline`: three ways through the same broker, each as its own child process
 * (honest RSS from /proc/<pid>/status), one after the other in one run:
 *   plain — a bare kafkajs transactional consume→produce loop (baseline.ts): the denominator;
 *   noop  — `prism run --scorer noop`: the whole topology with constant scores;
 *   tiny  — `prism run` with the tiny preset model (random weights, real PRISM gradient norms).
 * Each column runs three phases on fresh topics:
 *   warm-up — `warmRecords` records through the new process (start-up, JIT, arbitration warm-up
 *             hold, scorer path calibration); not measured;
 *   drain   — a backlog of N records appended at once to the warm pipeline: records/s =
 *             N / (last output visible − first input appended);
 *   latency — open-loop input at `latencyLoad` × the drain rate for `latencySeconds`; end-to-end
 *             latency of a record = when its output became visible to a read_committed consumer −
 *             the input's broker append time (LogAppendTime). For prism columns the pipeline's own
 *             prism_end_to_end_seconds histogram (its commit time − append time) over the same
 *             phase is reported too (bucket-interpolated, so coarser).
 */
export { PIPELINE_COLUMNS, type PipelineColumn } from './columns.ts';

export interface PipelineBenchOptions {
  brokers?: string[];
  columns: PipelineColumn[];
  /** Drain-phase records for plain and noop. */
  records: number;
  /** Drain-phase records for the tiny model (it is ~100× slower). */
  modelRecords: number;
  /** Warm-up records per column (≥ arbitration.warmup so the window is warm afterwards). */
  warmRecords: number;
  latencySeconds: number;
  /** Latency-phase rate as a fraction of the column's drain rate. */
  latencyLoad: number;
  partitions: number;
  /** Scored positions per trajectory. */
  seq: number;
  /** Give up when no output arrives for this long (start-up included). */
  stallMs: number;
  logger: Logger;
  meta: { finish(): RunMeta };
  onProgress?: (
    column: PipelineColumn,
    phase: 'warm-up' | 'drain' | 'latency',
    done: number,
    total: number,
  ) => void;
}

export interface LatencyStats extends Summary {
  /** Target input rate of the phase (records/s) and what the sender achieved. */
  targetRate: number;
  sentRate: number;
  /** Paced records without an output when the phase's wait budget ran out (0 normally: the pipeline kept up). */
  missing: number;
}

export interface ColumnResult {
  name: PipelineColumn;
  description: string;
  drain: DrainResult;
  /** ms. */
  latency: LatencyStats;
  /** The pipeline's own prism_end_to_end_seconds over the latency phase (prism columns), ms. */
  metricLatency: { p50Ms: number; p99Ms: number; count: number } | null;
  /** VmHWM at the end of the column. */
  peakRssBytes: number;
  /** Median VmRSS during the latency phase. */
  steadyRssBytes: number;
  /** Outputs seen twice by the observer (0 under exactly-once). */
  duplicateOutputs: number;
  /** VmRSS over the whole column, ms since the child started (≤ 400 points). */
  rss: MemorySample[];
  /** The child's command line. */
  command: string;
  /** What the child logged about its set-up (tfjs backend, scorer path). */
  notes: string[];
}

export interface PipelineResult extends ResultBase<'pipeline'> {
  broker: { brokers: string[]; version: string | null; ownBroker: boolean };
  settings: {
    partitions: number;
    seq: number;
    batchSize: number;
    batchMaxWaitMs: number;
    concurrency: number;
    warmup: number;
    warmRecords: number;
    records: number;
    modelRecords: number;
    latencySeconds: number;
    latencyLoad: number;
  };
  columns: ColumnResult[];
  /** records/s of a prism column / records/s of the plain loop. */
  ratios: Partial<Record<'noopVsPlain' | 'tinyVsPlain', number>>;
}

interface ColumnPlan {
  description: string;
  records: number;
  http: boolean;
  kind: 'plain' | 'prism';
  args(t: { brokers: string; group: string; topics: BenchTopics; httpPort: number }): string[];
}

function histogramOf(text: string | undefined): Histogram | undefined {
  return text === undefined ? undefined : parseHistogram(text, 'prism_end_to_end_seconds');
}

type BatchSettings = ReturnType<typeof batchSection.parse>;
type ConsumerSettings = ReturnType<typeof consumerSection.parse>;

/** What every column shares: the options, the broker, one idempotent producer and the workload. */
interface BenchContext {
  o: PipelineBenchOptions;
  log: Logger;
  kafka: Kafka;
  brokers: string[];
  producer: Producer;
  workload: Workload;
}

/** The three columns: how each child is started and what it is. */
function columnPlans(
  o: PipelineBenchOptions,
  batch: BatchSettings,
  consumer: ConsumerSettings,
  modelDir: string,
): Record<PipelineColumn, ColumnPlan> {
  return {
    plain: {
      description: `plain kafkajs transactional consume→produce loop: copy key/value, ≤ ${batch.size} records per transaction with the input offset, one transactional producer per partition, kafkajs initialRetryTime ${PLAIN_LOOP_RETRY_MS} ms`,
      records: o.records,
      http: false,
      kind: 'plain',
      args: (t) => [
        'bench',
        'pipeline-baseline',
        ...[
          '--brokers',
          t.brokers,
          '--group',
          t.group,
          '--input',
          t.topics.input,
          '--output',
          t.topics.outputs[0],
        ],
        ...[
          '--batch-size',
          String(batch.size),
          '--concurrency',
          String(consumer.partitionsConsumedConcurrently),
        ],
      ],
    },
    noop: {
      description:
        '`prism run --scorer noop`: decode (Avro) → micro-batch → constant scores → arbitrate (median window) → route (Avro) → one transaction per micro-batch',
      records: o.records,
      http: true,
      kind: 'prism',
      args: (t) => prismRunArgs({ ...t, scorer: ['--scorer', 'noop'] }),
    },
    tiny: {
      description:
        '`prism run` with the tiny preset (random weights, 0.22 M parameters): real PRISM gradient norms on the auto-selected tfjs backend',
      records: o.modelRecords,
      http: true,
      kind: 'prism',
      args: (t) => prismRunArgs({ ...t, scorer: ['--scorer', 'prism', '--model', modelDir] }),
    },
  };
}

/** One column's running pieces: its fresh topics, the observer and the child process. */
interface ColumnRun {
  name: PipelineColumn;
  plan: ColumnPlan;
  stamp: string;
  topics: BenchTopics;
  observer: LatencyObserver;
  httpPort: number;
  args: string[];
  child: BenchChild;
}

/** Fresh topics, an observer and the child for one column; stopped and cleaned up whatever happens. */
async function runColumn(ctx: BenchContext, name: PipelineColumn, plan: ColumnPlan): Promise<ColumnResult> {
  const { o, log, kafka } = ctx;
  const stamp = `${name}-${Date.now().toString(36)}`;
  const topics = await createBenchTopics(kafka, stamp, o.partitions, plan.kind);
  const observer = await LatencyObserver.start(kafka, {
    groupId: `bench-${stamp}-observer`,
    input: topics.input,
    outputs: topics.outputs,
  });
  const [httpPort] = await freePorts(1);
  const args = plan.args({ brokers: ctx.brokers.join(','), group: `bench-${stamp}`, topics, httpPort });
  let child: BenchChild | undefined;
  try {
    const c = startPrismChild(args, {
      label: `${name} column (prism ${args.slice(0, 2).join(' ')})`,
      keep: /tfjs backend|scorer path|scorer ready/i,
    });
    child = c;
    const result = await measureColumn(ctx, {
      name,
      plan,
      stamp,
      topics,
      observer,
      httpPort,
      args,
      child: c,
    });
    const exit = await c.stop();
    if (exit.code !== 0)
      log.warn({ column: name, exit }, 'pipeline bench: child did not exit cleanly after SIGTERM');
    return result;
  } finally {
    await child?.stop(5000);
    await observer.stop();
    if (o.brokers !== undefined)
      await deleteBenchTopics(kafka, topics).catch((err: unknown) =>
        log.warn({ err: errorMessage(err) }, 'could not delete bench topics'),
      );
  }
}

/** The three phases of a column: warm-up (not measured), drain, latency under paced load. */
async function measureColumn(ctx: BenchContext, r: ColumnRun): Promise<ColumnResult> {
  const { o, log, producer: p, workload } = ctx;
  const { name, plan, stamp, topics, observer, child: c } = r;
  const wait = (phase: 'warm-up' | 'drain') => ({
    stallMs: o.stallMs,
    check: () => c.assertAlive(phase),
    onProgress: (d: number, total: number) => o.onProgress?.(name, phase, d, total),
  });
  log.info({ column: name, pid: c.pid, records: o.warmRecords }, 'pipeline bench: warm-up');
  await warmUp(p, observer, workload, topics.input, o.warmRecords, `w-${stamp}`, wait('warm-up'));
  log.info({ column: name, records: plan.records }, 'pipeline bench: drain');
  const drained = await drain(p, observer, workload, topics.input, plan.records, `d-${stamp}`, wait('drain'));
  const rssFrom = c.samples.length;
  const { latency, metricHist } = await latencyPhase(ctx, r, drained);
  return {
    name,
    description: plan.description,
    drain: drained,
    latency,
    metricLatency:
      metricHist === undefined
        ? null
        : {
            p50Ms: histogramQuantile(0.5, metricHist) * 1000,
            p99Ms: histogramQuantile(0.99, metricHist) * 1000,
            count: metricHist.count,
          },
    peakRssBytes: c.peakRssBytes(),
    steadyRssBytes: summarize(c.samples.slice(rssFrom).map((s) => s.rssBytes)).p50,
    duplicateOutputs: observer.duplicateOutputs,
    rss: downsample(c.samples, 400),
    command: `prism ${r.args.join(' ')}`,
    notes: c.keptMessages(),
  };
}

/**
 * Open-loop input at latencyLoad × the drain rate: end-to-end latencies seen by the observer and,
 * for prism columns, the pipeline's own prism_end_to_end_seconds over the same phase.
 */
async function latencyPhase(
  ctx: BenchContext,
  r: ColumnRun,
  drained: DrainResult,
): Promise<{ latency: LatencyStats; metricHist: Histogram | undefined }> {
  const { o, log, producer: p, workload } = ctx;
  const { name, plan, stamp, topics, observer, httpPort, child: c } = r;
  const before = plan.http ? histogramOf(await scrape('127.0.0.1', httpPort)) : undefined;
  const targetRate = Math.max(
    1,
    o.latencyLoad * (Number.isFinite(drained.recordsPerSec) ? drained.recordsPerSec : 1),
  );
  log.info({ column: name, drainRate: drained.recordsPerSec, targetRate }, 'pipeline bench: latency');
  const sendStart = performance.now();
  const pacedKeys = await pacedLoad(p, topics.input, workload, {
    rate: targetRate,
    seconds: o.latencySeconds,
    idPrefix: `l-${stamp}`,
    abort: () => c.hasExited(),
  });
  const sentRate = pacedKeys.length / ((performance.now() - sendStart) / 1000);
  // A pipeline that cannot keep up is reported (missing > 0, latencies of what arrived), not waited for forever.
  const missing = await observer.waitFor(pacedKeys, {
    stallMs: o.stallMs,
    deadline: Date.now() + Math.max(60_000, 3 * o.latencySeconds * 1000),
    check: () => c.assertAlive('under paced load'),
    onProgress: (d) => o.onProgress?.(name, 'latency', d, pacedKeys.length),
  });
  if (missing > 0)
    log.warn(
      { column: name, missing, of: pacedKeys.length },
      'pipeline bench: the column fell behind the paced load',
    );
  await observer.waitForInputs(pacedKeys);
  const after = plan.http ? histogramOf(await scrape('127.0.0.1', httpPort)) : undefined;
  return {
    latency: { ...summarize(observer.latencies(pacedKeys)), targetRate, sentRate, missing },
    metricHist: after === undefined ? undefined : diffHistogram(after, before),
  };
}

/** records/s of each prism column over the plain loop's. */
function ratiosOf(columns: readonly ColumnResult[]): PipelineResult['ratios'] {
  const rateOf = (n: PipelineColumn): number | undefined =>
    columns.find((c) => c.name === n)?.drain.recordsPerSec;
  const plain = rateOf('plain');
  const ratios: PipelineResult['ratios'] = {};
  if (plain !== undefined) {
    const noop = rateOf('noop');
    const tiny = rateOf('tiny');
    if (noop !== undefined) ratios.noopVsPlain = noop / plain;
    if (tiny !== undefined) ratios.tinyVsPlain = tiny / plain;
  }
  return ratios;
}

export async function runPipelineBench(o: PipelineBenchOptions): Promise<PipelineResult> {
  const log = o.logger;
  const batch = batchSection.parse({});
  const consumer = consumerSection.parse({});
  const warmup = arbitrationSection.parse({}).warmup;
  const broker = await openBenchBroker({ brokers: o.brokers, logger: log });
  const modelDir = await mkdtemp(join(tmpdir(), 'prism-bench-model-'));
  const kafka = createKafka({
    brokers: broker.brokers,
    clientId: 'prism-bench',
    logLevel: 'nothing',
    security: PLAINTEXT_SECURITY,
  });
  let producer: Producer | undefined;
  try {
    const vocab = await writeTinyModel(modelDir);
    const workload = new Workload(o.seq, vocab);
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    producer = p;
    await p.connect();
    const ctx: BenchContext = { o, log, kafka, brokers: broker.brokers, producer: p, workload };
    const plans = columnPlans(o, batch, consumer, modelDir);
    const columns: ColumnResult[] = [];
    for (const name of o.columns) columns.push(await runColumn(ctx, name, plans[name]));
    return {
      kind: 'pipeline',
      meta: o.meta.finish(),
      broker: { brokers: broker.brokers, version: broker.version, ownBroker: broker.pid !== null },
      settings: {
        partitions: o.partitions,
        seq: o.seq,
        batchSize: batch.size,
        batchMaxWaitMs: batch.maxWaitMs,
        concurrency: consumer.partitionsConsumedConcurrently,
        warmup,
        warmRecords: o.warmRecords,
        records: o.records,
        modelRecords: o.modelRecords,
        latencySeconds: o.latencySeconds,
        latencyLoad: o.latencyLoad,
      },
      columns,
      ratios: ratiosOf(columns),
    };
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await rm(modelDir, { recursive: true, force: true });
    await broker.stop();
  }
}
