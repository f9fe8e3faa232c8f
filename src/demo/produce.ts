import type { Kafka, Message } from 'kafkajs';
import type { InputLimits } from '../config/input.ts';
import { RecordCodec } from '../schemas/codec.ts';
import type { SchemaRegistry } from '../schemas/registry.ts';
import type { Trajectory } from '../schemas/types.ts';
import { validateTrajectory } from '../schemas/validate.ts';

export interface ProduceStreamOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly registry: SchemaRegistry;
  readonly limits: InputLimits;
  /** Records per send (one acks=all round trip). */
  readonly batch?: number;
  readonly onProgress?: (sent: number) => void;
}

/**
 * Publishes trajectories the way `prism produce` does: validated, Avro with Confluent framing,
 * key = trajectory id, idempotent producer, acks=all. Returns the number sent.
 */
export async function produceStream(records: Iterable<Trajectory>, o: ProduceStreamOptions): Promise<number> {
  const codec = new RecordCodec('trajectory', { format: 'avro', registry: o.registry, topic: o.topic });
  const producer = o.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  let sent = 0;
  try {
    let batch: Message[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await producer.send({ topic: o.topic, acks: -1, messages: batch });
      sent += batch.length;
      batch = [];
      o.onProgress?.(sent);
    };
    for (const t of records) {
      batch.push({ key: t.id, value: await codec.encode(validateTrajectory(t, o.limits)) });
      if (batch.length >= (o.batch ?? 100)) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  return sent;
}
