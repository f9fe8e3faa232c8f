import type { KafkaMessage } from 'kafkajs';
import type { SourceRecord } from '../operators/types.ts';

/** kafkajs message → the pipeline's SourceRecord (timestamps in ms, offsets as strings). */
export function toSourceRecord(topic: string, partition: number, m: KafkaMessage): SourceRecord {
  const ts = Number(m.timestamp);
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    headers: m.headers ?? {},
    timestamp: Number.isFinite(ts) ? ts : Date.now(),
  };
}
