import type { HoldingSnapshot } from '../arbitration/holding.ts';
import type { ArbitrateResult } from '../operators/types.ts';
import { familyCounts, histogram } from '../report/view.ts';
import type { ChartView, RateSample } from '../report/types.ts';
import type { Metric, Route } from '../schemas/types.ts';
import { Ring } from './ring.ts';

/** One routed record as the dashboard sees it. */
export interface LiveRecord {
  readonly id: string;
  readonly family: string | null;
  readonly metric: Metric;
  readonly score: number;
  readonly route: Route;
  /** The threshold this record was routed against. */
  readonly threshold: number | null;
  /** Milliseconds since the epoch. */
  readonly t: number;
}

export interface CollectorOptions {
  /** Routed records kept for the histogram and family shares (the most recent ones). Default 5000. */
  readonly capacity?: number;
  /** Throughput/lag samples kept. Default 720 (an hour at one per 5 s). */
  readonly seriesCapacity?: number;
  readonly title?: string;
  /** Metric shown before the first record arrives. Default gini. */
  readonly metric?: Metric;
  readonly now?: () => number;
}

export interface SamplingOptions {
  readonly intervalMs: number;
  /** Current consumer lag in records, or null when unknown. */
  readonly lag?: () => number | null | Promise<number | null>;
}

/**
 * The live dashboard's state: bounded ring buffers of the last routed records and of
 * throughput/lag samples, plus running totals. Memory stays O(capacity + seriesCapacity) however
 * long the pipeline runs. The pipeline feeds it with `observe`/`observeDecided`; `view()` is what
 * GET /dashboard/data returns.
 */
export class LiveCollector {
  private readonly records: Ring<LiveRecord>;
  private readonly series: Ring<RateSample>;
  private readonly now: () => number;
  private readonly title: string;
  private readonly defaultMetric: Metric;
  private totals = { records: 0, sft: 0, rl: 0, dlq: 0 };
  private holding: () => HoldingSnapshot | null = () => null;

  constructor(opts: CollectorOptions = {}) {
    this.records = new Ring(opts.capacity ?? 5000);
    this.series = new Ring(opts.seriesCapacity ?? 720);
    this.now = opts.now ?? Date.now;
    this.title = opts.title ?? 'prism-stream live routing';
    this.defaultMetric = opts.metric ?? 'gini';
  }

  /** Routed records since start (not bounded by the ring). */
  get routed(): number {
    return this.totals.records;
  }

  observe(r: LiveRecord): void {
    this.records.push(r);
    this.totals.records++;
    if (r.route === 'RL') this.totals.rl++;
    else this.totals.sft++;
  }

  /** Adapter for the pipeline's arbitrate stage: decided records are observed, failed ones counted. */
  observeDecided(batch: readonly ArbitrateResult[]): void {
    const t = this.now();
    for (const r of batch) {
      if (r.kind === 'failed') {
        this.totals.dlq++;
        continue;
      }
      const { metric, route, threshold } = r.decision;
      this.observe({
        id: r.trajectory.id,
        family: r.trajectory.metadata.family ?? null,
        metric,
        score: r.scores[metric],
        route,
        threshold,
        t,
      });
    }
  }

  /** Where the warm-up hold is read from (the arbitrator's `holds`), shown on the page while it lasts. */
  watchHolding(snapshot: () => HoldingSnapshot | null): void {
    this.holding = snapshot;
  }

  sample(s: RateSample): void {
    this.series.push(s);
  }

  /**
   * Every intervalMs, records the routing rate since the previous tick and the lag. Returns a
   * stop function. The timer is unref'd: it never keeps the process alive.
   */
  startSampling(opts: SamplingOptions): () => void {
    let prev = { t: this.now(), n: this.totals.records };
    let busy = false;
    const tick = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const t = this.now();
        const n = this.totals.records;
        const lag = opts.lag ? await opts.lag() : null;
        this.sample({ t, recordsPerSec: (n - prev.n) / Math.max(1e-3, (t - prev.t) / 1000), lag });
        prev = { t, n };
      } catch {
        // A failed lag read skips one sample; the next tick tries again.
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), opts.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The page's data: histogram and family shares over the buffered records, totals since start. */
  view(): ChartView & {
    readonly live: {
      readonly window: number;
      readonly capacity: number;
      readonly dlq: number;
      readonly holding: HoldingSnapshot | null;
    };
  } {
    const recs = this.records.toArray();
    const last = this.records.last();
    const threshold = last?.threshold ?? null;
    const holding = this.holding();
    const holdNote =
      holding?.message != null
        ? [`Warm-up: ${holding.message}; nothing is routed before the window is warm (arbitration.warmup).`]
        : [];
    return {
      title: this.title,
      generatedAt: this.now(),
      metric: last?.metric ?? this.defaultMetric,
      threshold,
      totals: { records: this.totals.records, sft: this.totals.sft, rl: this.totals.rl },
      histogram: histogram(recs, threshold),
      families: familyCounts(recs),
      series: this.series.toArray(),
      evaluation: null,
      notes: [
        ...holdNote,
        `Histogram and family shares: the last ${recs.length} routed records (buffer ${this.records.capacity}); totals since start.` +
          (this.totals.dlq > 0 ? ` ${this.totals.dlq} records went to the dead-letter topic.` : ''),
      ],
      live: { window: recs.length, capacity: this.records.capacity, dlq: this.totals.dlq, holding },
    };
  }
}
