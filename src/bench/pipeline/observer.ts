import type { Consumer, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from '../errors.ts';

/**
 * Measures end-to-end latency from outside the pipeline: a read_committed consumer on the input
 * topic and every output topic. For each input record it keeps the broker's append timestamp
 * (the input topic uses message.timestamp.type=LogAppendTime); for each output it keeps the time
 * the record became visible to a read_committed consumer (the transaction commit that carried it,
 * as seen here; fetches wait at most `maxWaitMs`, which bounds the observer's own delay).
 * Inputs and outputs are joined on the record key (= trajectory id).
 */
export class LatencyObserver {
  private readonly appendTs = new Map<string, number>();
  private readonly seenAt = new Map<string, number>();
  private duplicates = 0;
  private lastOutputAt = Date.now();

  private constructor(
    private readonly consumer: Consumer,
    private readonly input: string,
  ) {}

  static async start(
    kafka: Kafka,
    opts: { groupId: string; input: string; outputs: readonly string[]; maxWaitMs?: number },
  ): Promise<LatencyObserver> {
    const consumer = kafka.consumer({
      groupId: opts.groupId,
      readUncommitted: false,
      maxWaitTimeInMs: opts.maxWaitMs ?? 50,
      allowAutoTopicCreation: false,
    });
    const obs = new LatencyObserver(consumer, opts.input);
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [opts.input, ...opts.outputs], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        const isInput = batch.topic === obs.input;
        for (const m of batch.messages) {
          const key = m.key?.toString('utf8');
          if (key === undefined) continue;
          if (isInput) obs.appendTs.set(key, Number(m.timestamp));
          else if (obs.seenAt.has(key)) obs.duplicates += 1;
          else {
            obs.seenAt.set(key, now);
            obs.lastOutputAt = now;
          }
        }
      },
    });
    await joined;
    return obs;
  }

  /** Distinct output keys seen so far. */
  get outputs(): number {
    return this.seenAt.size;
  }

  /** Output records seen for a key already seen (0 under exactly-once). */
  get duplicateOutputs(): number {
    return this.duplicates;
  }

  /**
   * Waits until every key of `keys` has an output, or `deadline` (ms since the epoch) passes;
   * returns how many are still missing. Fails with PIPELINE_STALLED when no new output arrives for
   * `stallMs`, or when `check()` throws (e.g. the child died).
   */
  async waitFor(
    keys: readonly string[],
    opts: { stallMs: number; deadline?: number; check?: () => void; onProgress?: (done: number) => void },
  ): Promise<number> {
    this.lastOutputAt = Math.max(this.lastOutputAt, Date.now());
    for (;;) {
      let done = 0;
      for (const k of keys) if (this.seenAt.has(k)) done += 1;
      opts.onProgress?.(done);
      if (done >= keys.length) return 0;
      if (opts.deadline !== undefined && Date.now() > opts.deadline) return keys.length - done;
      opts.check?.();
      if (Date.now() - this.lastOutputAt > opts.stallMs) {
        throw new BenchError(
          'PIPELINE_STALLED',
          `no new output for ${opts.stallMs / 1000} s with ${keys.length - done} of ${keys.length} records outstanding`,
        );
      }
      await sleep(100);
    }
  }

  /** Output visibility times (ms since the epoch) of `keys` that have one. */
  outputTimes(keys: readonly string[]): number[] {
    const out: number[] = [];
    for (const k of keys) {
      const t = this.seenAt.get(k);
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  /** Input append times (ms since the epoch) of `keys` that have one. */
  appendTimes(keys: readonly string[]): number[] {
    const out: number[] = [];
    for (const k of keys) {
      const t = this.appendTs.get(k);
      if (t !== undefined) out.push(t);
    }
    return out;
  }

  /** Visible-at − appended-at per key, ms; keys without both ends are skipped. */
  latencies(keys: readonly string[]): number[] {
    const out: number[] = [];
    for (const k of keys) {
      const a = this.appendTs.get(k);
      const s = this.seenAt.get(k);
      if (a !== undefined && s !== undefined) out.push(s - a);
    }
    return out;
  }

  /** (append time, latency ms) per key that has both ends, in key order. */
  latencyPoints(keys: readonly string[]): { appendedAt: number; ms: number }[] {
    const out: { appendedAt: number; ms: number }[] = [];
    for (const k of keys) {
      const a = this.appendTs.get(k);
      const s = this.seenAt.get(k);
      if (a !== undefined && s !== undefined) out.push({ appendedAt: a, ms: s - a });
    }
    return out;
  }

  /** Waits (up to `ms`) until every key has its input append time too (the input topic is read alongside). */
  async waitForInputs(keys: readonly string[], ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && keys.some((k) => !this.appendTs.has(k))) await sleep(100);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}
