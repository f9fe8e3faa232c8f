import type { TopicMessages } from 'kafkajs';
import type { Batch, Outbound } from '../operators/types.ts';

/**
 * The state records riding with a batch's outputs (the scores topic, arbitration.state kafka),
 * grouped by topic for one produce call. A sink writes them with the outputs: in the same
 * transaction for exactly-once, so an aborted batch leaves no score and a committed one exactly one.
 */
export function changelogMessages(batch: Batch<Outbound>): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages['messages']>();
  for (const o of batch) {
    if (o.changelog === undefined) continue;
    const list = byTopic.get(o.changelog.topic) ?? [];
    list.push({ key: o.changelog.key, value: o.changelog.value });
    byTopic.set(o.changelog.topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
