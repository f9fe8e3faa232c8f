import type { TopicMessages } from 'kafkajs';
import type { Batch, Outbound } from '../operators/types.ts';

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

/** The offset to commit after a batch: one past its last record (contiguous-offset rule). */
export function nextOffset(batch: Batch<Outbound>): string {
  const last = batch[batch.length - 1];
  if (last === undefined) throw new RangeError('empty batch');
  return (BigInt(last.source.offset) + 1n).toString();
}
