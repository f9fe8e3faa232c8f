import type { Message, Producer } from 'kafkajs';
import { RecordCodec } from '../../schemas/codec.ts';
import { openLocalRegistry } from '../../schema-store/registry-file.ts';
import type { Trajectory } from '../../schemas/types.ts';
import { syntheticTrajectories } from '../../scorer-host/bench.ts';

/**
 * Input records of the pipeline benchmarks: the scorer bench's synthetic trajectories (a quarter
 * prompt, the rest assistant tokens, `seq` scored positions, token ids in the probe vocabulary),
 * Avro-encoded in the Confluent wire format that `prism run` reads by default (input.format avro).
 * A pool of distinct token sequences is cycled; every record gets its own id (= key).
 */
export class Workload {
  private readonly codec = new RecordCodec('trajectory', {
    format: 'avro',
    registry: openLocalRegistry(),
  });
  private readonly pool: Trajectory[];

  constructor(
    readonly seq: number,
    readonly vocab: number,
    poolSize = 64,
  ) {
    this.pool = syntheticTrajectories(poolSize, seq, vocab, 7);
  }

  async message(id: string, i: number): Promise<Message> {
    const base = this.pool[i % this.pool.length];
    const t: Trajectory = { ...base, id, task_id: `bench-task-${i % 97}`, created_at: Date.now() };
    return { key: id, value: await this.codec.encode(t) };
  }

  async messages(prefix: string, n: number): Promise<Message[]> {
    const out: Message[] = [];
    for (let i = 0; i < n; i++) out.push(await this.message(`${prefix}-${i}`, i));
    return out;
  }
}

/** Writes `messages` in chunks (acks all) before the pipeline starts: the drain phase's backlog. */
export async function preload(
  producer: Producer,
  topic: string,
  messages: readonly Message[],
  chunk = 500,
): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk)
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
}

export interface PacedOptions {
  /** Records per second. */
  rate: number;
  seconds: number;
  idPrefix: string;
  /** Send interval (default 20 ms): every tick sends what the schedule owes. */
  tickMs?: number;
  /** Stop early when this returns true (e.g. the child died). */
  abort?: () => boolean;
}

/**
 * Open-loop load: sends `rate`·t records by time t (acks all), whatever the pipeline does, so
 * queueing shows up as latency rather than as a slower sender. Returns the ids sent.
 */
export async function pacedLoad(
  producer: Producer,
  topic: string,
  workload: Workload,
  o: PacedOptions,
): Promise<string[]> {
  const ids: string[] = [];
  const total = Math.max(1, Math.round(o.rate * o.seconds));
  const tick = o.tickMs ?? 20;
  const t0 = performance.now();
  while (ids.length < total) {
    if (o.abort?.() === true) break;
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.rate) + 1);
    const batch: Message[] = [];
    while (ids.length + batch.length < due) {
      const i = ids.length + batch.length;
      batch.push(await workload.message(`${o.idPrefix}-${i}`, i));
    }
    if (batch.length > 0) {
      await producer.send({ topic, acks: -1, messages: batch });
      for (const m of batch) ids.push(String(m.key));
    }
    await new Promise((r) => setTimeout(r, tick));
  }
  return ids;
}
