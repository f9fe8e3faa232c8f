import { Subject, type Observable } from 'rxjs';
import type { Metric, PrismScores, Route } from '../schemas/types.ts';
import type { CalibrationSeeds } from './calibration.ts';
import { metricValue } from './metric.ts';
import { routeFor, type Policy, type PolicyKind } from './policy.ts';
import { SlidingQuantile } from './sliding-quantile.ts';
import { WarmupHolds } from './holding.ts';

/** The probe model that produced a score; scores of different probes are never compared. */
export interface ProbeRef {
  readonly modelId: string;
  readonly version: string;
}

export interface Decision {
  readonly route: Route;
  readonly threshold: number;
  readonly metric: Metric;
  readonly policy: PolicyKind;
  /** Scores in the window when the threshold was taken (0 for a fixed threshold). */
  readonly windowSize: number;
}

export interface ArbitratorOptions {
  readonly policy: Policy;
  readonly metric: Metric;
  /** Sliding-window size (scores) for median/quantile. */
  readonly windowSize: number;
  /** Scores a window needs before its first decision. */
  readonly warmup: number;
  readonly seeds?: CalibrationSeeds;
  /**
   * Shared window (arbitration.state kafka): scores observed here are also read back from the
   * scores topic once committed; observe() and observeCommitted() with the record's source count
   * each score once.
   */
  readonly shared?: boolean;
}

/** The input record a score belongs to (its identity in a shared window). */
export interface ScoreSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface WindowSnapshot {
  readonly probe: ProbeRef;
  readonly size: number;
  readonly warm: boolean;
  readonly threshold: number | null;
}

export function windowKey(probe: ProbeRef): string {
  return `${probe.modelId}@${probe.version}`;
}

/**
 * Shared routing state: one sliding window per probe model version (scores from different
 * checkpoints are not comparable, so a new version starts a fresh window and a fresh warm-up).
 * Scores are observed as soon as they are computed; decisions may come later (warm-up hold).
 */
export class Arbitrator {
  readonly metric: Metric;
  readonly policy: Policy;
  private readonly windows = new Map<string, { probe: ProbeRef; window: SlidingQuantile }>();
  /** Windows of probe versions that were swapped out (probe.mode follow): no longer waiting to warm. */
  private readonly retired = new Set<string>();
  private readonly warmSubject = new Subject<string>();
  private unversionedSeedsUsed = false;
  /** Shared window: ids of scores counted locally and not read back from the topic yet (FIFO-bounded). */
  private readonly pending = new Map<string, true>();
  private readonly pendingCap: number;
  /** Emits a window key when that window becomes warm, so held records can be released. */
  readonly warm$: Observable<string> = this.warmSubject.asObservable();
  /** Records held for the warm-up, summed over the lanes (logs, /readyz details, the dashboard). */
  readonly holds: WarmupHolds;

  constructor(private readonly options: ArbitratorOptions) {
    if (!Number.isInteger(options.warmup) || options.warmup < 1)
      throw new RangeError('warmup must be a positive integer');
    if (options.warmup > options.windowSize) throw new RangeError('warmup cannot exceed the window size');
    this.metric = options.metric;
    this.policy = options.policy;
    this.holds = new WarmupHolds(options.warmup);
    this.pendingCap = Math.max(4 * options.windowSize, 10_000);
  }

  /** The value this arbitrator routes on. */
  valueOf(scores: PrismScores): number {
    return metricValue(scores, this.metric);
  }

  /**
   * Adds a score to its probe's window (a no-op for a fixed threshold). In a shared window, `source`
   * makes it count once: a retry of the same record, or its committed copy read back later, is skipped.
   */
  observe(probe: ProbeRef, value: number, source?: ScoreSource): void {
    if (!this.policy.usesWindow) return;
    if (this.options.shared === true && source !== undefined) {
      const id = scoreIdOf(probe, source);
      if (this.pending.has(id)) return;
      this.pending.set(id, true);
      if (this.pending.size > this.pendingCap)
        this.pending.delete(this.pending.keys().next().value as string);
    }
    this.push(probe, value);
  }

  /**
   * A committed score read from the scores topic (any instance's). Counted unless this instance
   * already counted it when it scored the record.
   */
  observeCommitted(probe: ProbeRef, value: number, source: ScoreSource): void {
    if (!this.policy.usesWindow) return;
    if (this.pending.delete(scoreIdOf(probe, source))) return;
    this.push(probe, value);
  }

  /**
   * The window restored from the scores topic on start (oldest first). Calibration seeds go in
   * first only when the topic held fewer scores than the warm-up (`--calibrate` seeds a cold window).
   */
  restore(probe: ProbeRef, values: readonly number[]): void {
    if (!this.policy.usesWindow) return;
    const key = windowKey(probe);
    if (!this.windows.has(key)) {
      const seeded = values.length < this.options.warmup;
      const window = new SlidingQuantile(this.options.windowSize);
      this.windows.set(key, { probe, window });
      if (seeded) for (const v of this.seedsFor(key)) window.push(v);
      else if (this.options.seeds?.byWindow.has(key) !== true) this.unversionedSeedsUsed = true;
    }
    for (const v of values) this.push(probe, v);
  }

  private push(probe: ProbeRef, value: number): void {
    const w = this.windowFor(probe);
    const wasWarm = w.size >= this.options.warmup;
    w.push(value);
    if (!wasWarm && w.size >= this.options.warmup) this.warmSubject.next(windowKey(probe));
  }

  isWarm(probe: ProbeRef): boolean {
    if (!this.policy.usesWindow) return true;
    return this.windowFor(probe).size >= this.options.warmup || this.retired.has(windowKey(probe));
  }

  /**
   * The probe version stopped serving (a newer one was swapped in). Its window will get no more
   * scores, so waiting for its warm-up would hold its records forever: they are decided against
   * the scores it has, and it leaves snapshot(). Its later records (still in transit) too.
   */
  retire(probe: ProbeRef): void {
    if (!this.policy.usesWindow) return;
    const key = windowKey(probe);
    if (this.retired.has(key)) return;
    const entry = this.windows.get(key);
    this.retired.add(key);
    // Held records exist only if the window exists and was still warming up.
    if (entry && entry.window.size < this.options.warmup) this.warmSubject.next(key);
  }

  /** Routes one score against the probe's current threshold. Call only when `isWarm(probe)`. */
  decide(probe: ProbeRef, value: number): Decision {
    if (!this.isWarm(probe)) throw new Error(`window ${windowKey(probe)} is still warming up`);
    const w = this.policy.usesWindow ? this.windowFor(probe) : undefined;
    const threshold = this.policy.threshold(w ?? new SlidingQuantile(1));
    return {
      route: routeFor(value, threshold),
      threshold,
      metric: this.metric,
      policy: this.policy.kind,
      windowSize: w?.size ?? 0,
    };
  }

  snapshot(): WindowSnapshot[] {
    const live = [...this.windows].filter(([key]) => !this.retired.has(key)).map(([, w]) => w);
    return live.map(({ probe, window }) => {
      const warm = window.size >= this.options.warmup;
      return {
        probe,
        size: window.size,
        warm,
        threshold: window.size > 0 ? this.policy.threshold(window) : null,
      };
    });
  }

  private windowFor(probe: ProbeRef): SlidingQuantile {
    const key = windowKey(probe);
    let entry = this.windows.get(key);
    if (!entry) {
      entry = { probe, window: new SlidingQuantile(this.options.windowSize) };
      this.windows.set(key, entry);
      for (const v of this.seedsFor(key)) entry.window.push(v);
    }
    return entry.window;
  }

  /** Versioned seeds go to their own window; unversioned ones to the first window only. */
  private seedsFor(key: string): readonly number[] {
    const seeds = this.options.seeds;
    if (!seeds) return [];
    const own = seeds.byWindow.get(key);
    if (own) return own;
    if (this.unversionedSeedsUsed || seeds.unversioned.length === 0) return [];
    this.unversionedSeedsUsed = true;
    return seeds.unversioned;
  }
}

/** Identity of a score in a shared window: one per probe version and input record. */
export function scoreIdOf(probe: ProbeRef, source: ScoreSource): string {
  return `${windowKey(probe)}|${source.topic}/${source.partition}/${source.offset}`;
}
