import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WindowSnapshot } from '../arbitration/arbitrator.ts';
import type { Committed } from '../producer/types.ts';

/** Live values read at scrape time (prom-client `collect`). */
export interface MetricsSources {
  /** Arbitration windows per probe model version. */
  windows?: () => readonly WindowSnapshot[];
  /** tf.memory().numTensors of the scorer's engine, when a tfjs scorer is loaded. */
  liveTensors?: () => number | undefined;
  /** Records in flight per input partition. */
  inFlight?: () => ReadonlyMap<number, number>;
  /**
   * Routes of every instance's committed decisions, read from the scores topic (arbitration.state
   * kafka): prism_rl_share then describes the whole stream, not this instance's partitions.
   */
  globalRouted?: () => { readonly sft: number; readonly rl: number } | undefined;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Throughput and latency: records in and out, dead letters, batch sizes, scoring and end-to-end time. */
function flowMetrics(r: Registry) {
  return {
    recordsIn: new Counter({
      name: 'prism_records_in_total',
      help: 'Input records handed to the pipeline',
      labelNames: ['topic', 'partition'] as const,
      registers: [r],
    }),
    recordsOut: new Counter({
      name: 'prism_records_out_total',
      help: 'Committed outputs by route (SFT, RL, DLQ)',
      labelNames: ['route'] as const,
      registers: [r],
    }),
    deadLetters: new Counter({
      name: 'prism_dlq_records_total',
      help: 'Committed dead-letter records by reason code and stage',
      labelNames: ['reason', 'stage'] as const,
      registers: [r],
    }),
    batchSize: new Histogram({
      name: 'prism_batch_size',
      help: 'Records per scored micro-batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [r],
    }),
    scoringSeconds: new Histogram({
      name: 'prism_scoring_seconds',
      help: 'Scorer time per micro-batch',
      buckets: SECONDS,
      registers: [r],
    }),
    endToEndSeconds: new Histogram({
      name: 'prism_end_to_end_seconds',
      help: 'Input record timestamp to commit of its output',
      buckets: SECONDS,
      registers: [r],
    }),
  };
}

/** Kafka positions and lifecycle: consumer lag, records in flight, transactions, rebalances. */
function kafkaMetrics(
  r: Registry,
  positions: { highWatermarks: ReadonlyMap<string, bigint>; committedNext: ReadonlyMap<string, bigint> },
  sources: MetricsSources,
) {
  const { highWatermarks, committedNext } = positions;
  return {
    consumerLag: new Gauge({
      name: 'prism_consumer_lag',
      help: 'Records between the committed offset and the partition high watermark',
      labelNames: ['topic', 'partition'] as const,
      registers: [r],
      collect() {
        this.reset();
        for (const [key, hw] of highWatermarks) {
          const [topic, partition] = splitKey(key);
          const next = committedNext.get(key);
          if (next !== undefined) this.set({ topic, partition }, Number(hw > next ? hw - next : 0n));
        }
      },
    }),
    inFlight: new Gauge({
      name: 'prism_in_flight_records',
      help: 'Records read but not yet committed, per input partition',
      labelNames: ['partition'] as const,
      registers: [r],
      collect() {
        this.reset();
        for (const [p, n] of sources.inFlight?.() ?? []) this.set({ partition: String(p) }, n);
      },
    }),
    transactions: new Counter({
      name: 'prism_transactions_total',
      help: 'Kafka transactions by result',
      labelNames: ['result'] as const,
      registers: [r],
    }),
    rebalances: new Counter({
      name: 'prism_rebalances_total',
      help: 'Consumer group rebalances seen',
      registers: [r],
    }),
  };
}

/** The arbitration window: threshold, window size, RL share, warm-up drops, restore time. */
function arbitrationMetrics(
  r: Registry,
  labels: { readonly metric: string; readonly policy: string },
  routed: { readonly sft: number; readonly rl: number },
  sources: MetricsSources,
) {
  const windows = sources.windows ?? (() => []);
  return {
    threshold: new Gauge({
      name: 'prism_threshold',
      help: 'Current routing threshold per probe model version',
      labelNames: ['probe_model', 'probe_version', 'metric', 'policy'] as const,
      registers: [r],
      collect() {
        this.reset();
        for (const w of windows()) {
          if (w.threshold !== null)
            this.set(
              {
                probe_model: w.probe.modelId,
                probe_version: w.probe.version,
                metric: labels.metric,
                policy: labels.policy,
              },
              w.threshold,
            );
        }
      },
    }),
    windowSize: new Gauge({
      name: 'prism_window_scores',
      help: 'Scores in the arbitration window per probe model version (warm once >= arbitration.warmup)',
      labelNames: ['probe_model', 'probe_version'] as const,
      registers: [r],
      collect() {
        this.reset();
        for (const w of windows())
          this.set({ probe_model: w.probe.modelId, probe_version: w.probe.version }, w.size);
      },
    }),
    rlShare: new Gauge({
      name: 'prism_rl_share',
      help: 'Realised share of routed (non-DLQ) records sent to RL since start: over every instance (the scores topic) with arbitration.state kafka, this instance otherwise',
      registers: [r],
      collect() {
        const counts = sources.globalRouted?.() ?? routed;
        const total = counts.sft + counts.rl;
        this.set(total === 0 ? 0 : counts.rl / total);
      },
    }),
    heldDropped: new Counter({
      name: 'prism_warmup_dropped_records_total',
      help: 'Held warm-up records left uncommitted when their lane closed (re-read later)',
      registers: [r],
    }),
    windowRestoreSeconds: new Gauge({
      name: 'prism_window_restore_seconds',
      help: 'Time the start-up restore of the arbitration window from the scores topic took (arbitration.state kafka)',
      registers: [r],
    }),
  };
}

export type ScorerInfoLabel = 'backend' | 'adapter' | 'probe_model' | 'probe_version';

/** What prism_scorer_info says about the scorer (src/scorer/types.ts Scorer has these fields). */
export interface ScorerInfoSource {
  readonly backend: string;
  /** The GPU adapter (webgpu: vendor, architecture, description); absent on CPU backends. */
  readonly adapter?: string;
  readonly probeModelId: string;
  readonly probeModelVersion: string;
}

/** The labels of prism_scorer_info; `probe` overrides the scorer's identity (a swapped-in checkpoint). Pure. */
export function scorerInfoLabels(
  s: ScorerInfoSource,
  probe?: { readonly modelId: string; readonly version: string },
): Record<ScorerInfoLabel, string> {
  return {
    backend: s.backend,
    adapter: s.adapter ?? '',
    probe_model: probe?.modelId ?? s.probeModelId,
    probe_version: probe?.version ?? s.probeModelVersion,
  };
}

/** The scorer: live tfjs tensors and backend/probe info. */
function scorerMetrics(r: Registry, sources: MetricsSources) {
  return {
    liveTensors: new Gauge({
      name: 'prism_tfjs_tensors',
      help: 'Live tfjs tensors (tf.memory().numTensors); flat when nothing leaks',
      registers: [r],
      collect() {
        const n = sources.liveTensors?.();
        if (n !== undefined) this.set(n);
      },
    }),
    scorerInfo: new Gauge({
      name: 'prism_scorer_info',
      help: 'Scorer backend, GPU adapter (webgpu; empty on CPU backends) and probe model (value 1)',
      labelNames: ['backend', 'adapter', 'probe_model', 'probe_version'] as const,
      registers: [r],
    }),
  };
}

/**
 * Every metric of `prism run`, on its own registry (tests create as many as they like). Names use
 * the `prism_` prefix; counters end in `_total`, durations are seconds.
 */
export class PipelineMetrics {
  readonly registry = new Registry();
  readonly recordsIn: Counter<'topic' | 'partition'>;
  readonly recordsOut: Counter<'route'>;
  readonly deadLetters: Counter<'reason' | 'stage'>;
  readonly batchSize: Histogram;
  readonly scoringSeconds: Histogram;
  readonly endToEndSeconds: Histogram;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly threshold: Gauge<'probe_model' | 'probe_version' | 'metric' | 'policy'>;
  readonly windowSize: Gauge<'probe_model' | 'probe_version'>;
  readonly rlShare: Gauge;
  readonly liveTensors: Gauge;
  readonly scorerInfo: Gauge<ScorerInfoLabel>;
  readonly inFlight: Gauge<'partition'>;
  readonly transactions: Counter<'result'>;
  readonly rebalances: Counter;
  readonly heldDropped: Counter;
  readonly windowRestoreSeconds: Gauge;
  private readonly highWatermarks = new Map<string, bigint>();
  private readonly committedNext = new Map<string, bigint>();
  private readonly routed = { sft: 0, rl: 0 };
  /** Labels of the threshold gauge. */
  readonly labels: { metric: string; policy: string };

  constructor(
    sources: MetricsSources = {},
    options: { defaultMetrics?: boolean; metric?: string; policy?: string } = {},
  ) {
    const r = this.registry;
    this.labels = { metric: options.metric ?? 'gini', policy: options.policy ?? 'median' };
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: r });
    ({
      recordsIn: this.recordsIn,
      recordsOut: this.recordsOut,
      deadLetters: this.deadLetters,
      batchSize: this.batchSize,
      scoringSeconds: this.scoringSeconds,
      endToEndSeconds: this.endToEndSeconds,
    } = flowMetrics(r));
    ({
      consumerLag: this.consumerLag,
      inFlight: this.inFlight,
      transactions: this.transactions,
      rebalances: this.rebalances,
    } = kafkaMetrics(r, { highWatermarks: this.highWatermarks, committedNext: this.committedNext }, sources));
    ({
      threshold: this.threshold,
      windowSize: this.windowSize,
      rlShare: this.rlShare,
      heldDropped: this.heldDropped,
      windowRestoreSeconds: this.windowRestoreSeconds,
    } = arbitrationMetrics(r, this.labels, this.routed, sources));
    ({ liveTensors: this.liveTensors, scorerInfo: this.scorerInfo } = scorerMetrics(r, sources));
  }

  /** prism_scorer_info: one series, for the scorer (and the probe version it serves now). */
  setScorerInfo(s: ScorerInfoSource, probe?: { readonly modelId: string; readonly version: string }): void {
    this.scorerInfo.reset();
    this.scorerInfo.set(scorerInfoLabels(s, probe), 1);
  }

  /** The committed position of a partition when its lane opens (lag before the first commit). */
  observeCommittedPosition(topic: string, partition: number, nextOffset: string | null): void {
    this.committedNext.set(`${topic}|${partition}`, BigInt(nextOffset ?? '0'));
  }

  observeHighWatermark(topic: string, partition: number, highWatermark: string): void {
    this.highWatermarks.set(`${topic}|${partition}`, BigInt(highWatermark));
  }

  /** One committed micro-batch: outputs by route, DLQ reasons, end-to-end latency, lag. */
  observeCommitted(c: Committed): void {
    for (const o of c.outputs) {
      this.recordsOut.inc({ route: o.route });
      if (o.route === 'SFT') this.routed.sft += 1;
      else if (o.route === 'RL') this.routed.rl += 1;
      else
        this.deadLetters.inc({
          reason: o.reason ?? 'UNKNOWN',
          stage: stageOf(o.headers['prism.error.stage']),
        });
      this.endToEndSeconds.observe(Math.max(0, (c.committedAt - o.source.timestamp) / 1000));
    }
    const last = c.outputs[c.outputs.length - 1];
    if (last !== undefined)
      this.committedNext.set(
        `${last.source.topic}|${last.source.partition}`,
        BigInt(last.source.offset) + 1n,
      );
  }
}

function splitKey(key: string): [string, string] {
  const i = key.lastIndexOf('|');
  return [key.slice(0, i), key.slice(i + 1)];
}

function stageOf(h: unknown): string {
  if (typeof h === 'string') return h;
  if (Buffer.isBuffer(h)) return h.toString('utf8');
  return 'unknown';
}
