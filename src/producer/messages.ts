import type { TopicMessages } from 'kafkajs';
import type { Batch, Outbound } from '../operators/types.ts';
import { recordBytes } from './fit.ts';

/** Groups a batch's outputs per topic, keeping order within each topic. */
export function toTopicMessages(batch: Batch<Outbound>): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const o of batch) {
    let tm = byTopic.get(o.topic);
    if (tm === undefined) {
      tm = { topic: o.topic, messages: [] };
      byTopic.set(o.topic, tm);
    }
    tm.messages.push({ key: o.key, value: o.value, headers: o.headers });
  }
  return [...byTopic.values()];
}

/**
 * Bytes per produce call. kafkajs puts all messages of one partition in a call into ONE record
 * batch, and the broker rejects a record batch over max.message.bytes (default 1 MiB): a
 * micro-batch of large records must therefore go out in several calls.
 */
export const MAX_SEND_BYTES = 512 * 1024;

/**
 * toTopicMessages in order-preserving chunks of ≤ maxBytes (record framing and headers counted; a
 * larger single record goes alone). Callers pass a smaller maxBytes when a topic accepts less (fit.ts).
 */
export function toSendChunks(batch: Batch<Outbound>, maxBytes = MAX_SEND_BYTES): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let cur: Outbound[] = [];
  let bytes = 0;
  for (const o of batch) {
    const n = recordBytes(o);
    if (cur.length > 0 && bytes + n > maxBytes) {
      chunks.push(toTopicMessages(cur));
      cur = [];
      bytes = 0;
    }
    cur.push(o);
    bytes += n;
  }
  if (cur.length > 0) chunks.push(toTopicMessages(cur));
  return chunks;
}

/** The offset to commit after a batch: one past its last record (contiguous-offset rule). */
export function nextOffset(batch: Batch<Outbound>): string {
  const last = batch[batch.length - 1];
  if (last === undefined) throw new RangeError('empty batch');
  return (BigInt(last.source.offset) + 1n).toString();
}
