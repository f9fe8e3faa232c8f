/**
 * What the warm-up hold looks like right now, for logs, /readyz and the dashboard (issue 17, item 3).
 *
 * With a window policy no record is routed before its probe's window has `warmup` scores; the
 * arbitrate operator holds those records (in order, bounded by the in-flight watermarks). Without a
 * trace of it, a stream shorter than the warm-up looks like a pipeline that silently does nothing.
 * Each lane's operator reports its held records here; this object sums them, says so in one sentence
 * and tells listeners when holding starts, goes on, and ends. Pure state: the caller logs.
 */

export interface HoldingSnapshot {
  /** True while at least one record waits for a window's warm-up. */
  readonly holding: boolean;
  /** Records held now, over all lanes. */
  readonly records: number;
  /** Scores in the window being waited for (the fullest one when several are). */
  readonly windowScores: number;
  /** Scores a window needs before its first decision (arbitration.warmup). */
  readonly warmup: number;
  /** When the current hold started (ms since the epoch), or null. */
  readonly since: number | null;
  /** The one-line explanation, or null when nothing is held. */
  readonly message: string | null;
}

export interface HoldingEvent {
  /** start: the first record began waiting; waiting: still holding (throttled); released: none held now. */
  readonly kind: 'start' | 'waiting' | 'released';
  /** Held now; for `released`, the most held at once (or, for a closed lane, what it left behind). */
  readonly records: number;
  readonly windowScores: number;
  readonly warmup: number;
  /** For `released`: how long the hold lasted. */
  readonly heldMs?: number;
  readonly message: string;
}

export interface WarmupHoldsOptions {
  /** At most one `waiting` event per this many ms while the hold grows. Default 5000. */
  readonly waitingEveryMs?: number;
  readonly now?: () => number;
}

export function holdingMessage(records: number, windowScores: number, warmup: number): string {
  const r = `${records} record${records === 1 ? '' : 's'}`;
  return `holding ${r} until the window has ${warmup} scores (${windowScores} so far)`;
}

export class WarmupHolds {
  private readonly lanes = new Map<string, { records: number; windowScores: number }>();
  private readonly listeners = new Set<(e: HoldingEvent) => void>();
  private readonly now: () => number;
  private readonly waitingEveryMs: number;
  private since: number | null = null;
  /** Most records held at once during the current hold. */
  private peak = 0;
  private lastEventAt = 0;

  constructor(
    readonly warmup: number,
    opts: WarmupHoldsOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.waitingEveryMs = opts.waitingEveryMs ?? 5000;
  }

  /**
   * A lane's operator reports what it holds now (0 records: nothing). `closed`: the lane ended with
   * records still held (they stay uncommitted and are re-read later), rather than its window warming.
   */
  set(lane: string, records: number, windowScores: number, closed = false): void {
    const before = this.total();
    if (records > 0) this.lanes.set(lane, { records, windowScores });
    else this.lanes.delete(lane);
    const after = this.total();
    const t = this.now();
    this.peak = Math.max(this.peak, after);
    if (before === 0 && after > 0) {
      this.since = t;
      this.emit(t, 'start', after, this.windowScores());
    } else if (before > 0 && after === 0) {
      const heldMs = t - (this.since ?? t);
      const peak = this.peak;
      this.since = null;
      this.peak = 0;
      const message = closed
        ? `no longer holding: ${before} held records were left uncommitted (lane closed during the warm-up)`
        : `window warm (${windowScores} scores): held records released for routing (up to ${peak} were waiting)`;
      this.emit(t, 'released', closed ? before : peak, windowScores, { heldMs, message });
    } else if (after > before && t - this.lastEventAt >= this.waitingEveryMs) {
      this.emit(t, 'waiting', after, this.windowScores());
    }
  }

  /** Subscribes to hold events; returns the unsubscribe function. */
  onEvent(listener: (e: HoldingEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): HoldingSnapshot {
    const records = this.total();
    const windowScores = this.windowScores();
    return {
      holding: records > 0,
      records,
      windowScores,
      warmup: this.warmup,
      since: this.since,
      message: records > 0 ? holdingMessage(records, windowScores, this.warmup) : null,
    };
  }

  private total(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.records;
    return n;
  }

  private windowScores(): number {
    let s = 0;
    for (const l of this.lanes.values()) s = Math.max(s, l.windowScores);
    return s;
  }

  private emit(
    t: number,
    kind: HoldingEvent['kind'],
    records: number,
    windowScores: number,
    released?: { heldMs: number; message: string },
  ): void {
    this.lastEventAt = t;
    const event: HoldingEvent = {
      kind,
      records,
      windowScores,
      warmup: this.warmup,
      ...(released ?? { message: holdingMessage(records, windowScores, this.warmup) }),
    };
    for (const l of this.listeners) l(event);
  }
}
