/**
 * Which input records are done (trained, or dead-lettered with the DLQ write acked), per partition.
 *
 * Records can finish out of order (the RL group window holds some back), so a checkpoint stores
 * the contiguous watermark `offset` (every delivered record below it is done: the offset to commit
 * and to seek to on resume) plus `doneAbove`, the finished offsets above it. On resume, records in
 * `doneAbove` are skipped: that is what keeps "never trained twice in one lineage" true while
 * "never lost" comes from re-reading everything from the watermark.
 */

export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** Next offset to consume; decimal string (Kafka offsets are 64-bit). */
  offset: string;
  /** Offsets ≥ offset that are already done, ascending decimal strings. */
  doneAbove: string[];
}

export const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class PartitionProgress {
  private base: bigint;
  private readonly done = new Set<bigint>();
  private readonly pending = new Set<bigint>();
  private maxSeen: bigint;

  constructor(start: bigint, doneAbove: Iterable<bigint> = []) {
    this.base = start;
    this.maxSeen = start - 1n;
    for (const o of doneAbove) if (o >= start) this.done.add(o);
  }

  /** Registers a delivered record; false when it must be skipped (already done or already pending). */
  deliver(offset: bigint): boolean {
    if (offset < this.base || this.pending.has(offset)) return false;
    if (offset > this.maxSeen) this.maxSeen = offset;
    if (this.done.has(offset)) {
      this.advance();
      return false;
    }
    this.pending.add(offset);
    return true;
  }

  /** Marks a delivered record done. */
  complete(offset: bigint): void {
    if (!this.pending.delete(offset)) return;
    this.done.add(offset);
    this.advance();
  }

  private advance(): void {
    let next: bigint;
    if (this.pending.size > 0) {
      next = [...this.pending].reduce((a, b) => (b < a ? b : a));
    } else {
      next = this.maxSeen + 1n;
    }
    // Restored done offsets right above the watermark also count as contiguous.
    while (this.done.has(next)) next += 1n;
    if (next > this.base) this.base = next;
    for (const o of this.done) if (o < this.base) this.done.delete(o);
  }

  /** Drops delivered-but-unfinished records (partition revoked, or batch discarded); they will be re-read. */
  forgetPending(): void {
    this.pending.clear();
    this.maxSeen = this.base - 1n;
  }

  get watermark(): bigint {
    return this.base;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The position to fetch from next after a rebalance: past everything delivered or done. */
  get fetchPosition(): bigint {
    return this.maxSeen + 1n > this.base ? this.maxSeen + 1n : this.base;
  }

  doneAboveWatermark(): bigint[] {
    return [...this.done].filter((o) => o >= this.base).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** Progress over all partitions of the input topic(s). */
export class OffsetLedger {
  private readonly parts = new Map<string, { topic: string; partition: number; p: PartitionProgress }>();

  constructor(restored: readonly PartitionOffsets[] = []) {
    for (const r of restored) {
      this.parts.set(tpKey(r.topic, r.partition), {
        topic: r.topic,
        partition: r.partition,
        p: new PartitionProgress(
          BigInt(r.offset),
          r.doneAbove.map((o) => BigInt(o)),
        ),
      });
    }
  }

  /** Known progress for a partition, or undefined when this lineage has never seen it. */
  get(topic: string, partition: number): PartitionProgress | undefined {
    return this.parts.get(tpKey(topic, partition))?.p;
  }

  /**
   * Registers a delivered record. The first record of a partition unknown to the ledger starts its
   * progress at that record's offset (it came from the group's committed offset or the reset policy).
   */
  deliver(topic: string, partition: number, offset: string): boolean {
    const o = BigInt(offset);
    let entry = this.parts.get(tpKey(topic, partition));
    if (entry === undefined) {
      entry = { topic, partition, p: new PartitionProgress(o) };
      this.parts.set(tpKey(topic, partition), entry);
    }
    return entry.p.deliver(o);
  }

  complete(topic: string, partition: number, offset: string): void {
    this.parts.get(tpKey(topic, partition))?.p.complete(BigInt(offset));
  }

  get pendingCount(): number {
    let n = 0;
    for (const e of this.parts.values()) n += e.p.pendingCount;
    return n;
  }

  /** What a checkpoint manifest stores; sorted for stable output. */
  snapshot(): PartitionOffsets[] {
    return [...this.parts.values()]
      .map(({ topic, partition, p }) => ({
        topic,
        partition,
        offset: p.watermark.toString(),
        doneAbove: p.doneAboveWatermark().map((o) => o.toString()),
      }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  entries(): { topic: string; partition: number; progress: PartitionProgress }[] {
    return [...this.parts.values()].map(({ topic, partition, p }) => ({ topic, partition, progress: p }));
  }
}
