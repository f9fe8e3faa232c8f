import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, Message, Producer } from 'kafkajs';
import { createTestTopic, readAllCommitted, readAllRecords, testKafka, uniqueName } from './helpers/kafka.ts';

const COMMITTED = 1000;
const PER_TXN = 100;
const ABORTED = 50;

function messages(prefix: string, from: number, count: number): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `${prefix}-${from + i}`,
    value: JSON.stringify({ n: from + i }),
  }));
}

describe('kafkajs transactions against the local broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  let topic: string;

  beforeAll(async () => {
    kafka = testKafka('txn-roundtrip');
    topic = await createTestTopic(uniqueName('txn-roundtrip'), { partitions: 3 });
    producer = kafka.producer({
      transactionalId: uniqueName('txn-roundtrip'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();

    // 900 committed, then an aborted transaction, then the last 100 committed: the aborted records
    // sit in the middle of every partition's log, so the reader has to skip them, not stop before them.
    for (let from = 0; from < COMMITTED - PER_TXN; from += PER_TXN) {
      const txn = await producer.transaction();
      await txn.send({ topic, messages: messages('ok', from, PER_TXN) });
      await txn.commit();
    }
    const doomed = await producer.transaction();
    await doomed.send({ topic, messages: messages('aborted', 0, ABORTED) });
    await doomed.abort();
    const last = await producer.transaction();
    await last.send({ topic, messages: messages('ok', COMMITTED - PER_TXN, PER_TXN) });
    await last.commit();
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  it('delivers every committed record exactly once to a read_committed consumer', async () => {
    const records = await readAllCommitted(topic);
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.key ?? '', (counts.get(r.key ?? '') ?? 0) + 1);

    expect(records).toHaveLength(COMMITTED);
    expect(counts.size).toBe(COMMITTED);
    for (let i = 0; i < COMMITTED; i++) expect(counts.get(`ok-${i}`), `ok-${i}`).toBe(1);
  });

  it('never shows records of the aborted transaction to a read_committed consumer', async () => {
    const records = await readAllCommitted(topic);
    expect(records.filter((r) => r.key?.startsWith('aborted-'))).toEqual([]);
  });

  it('did write the aborted records (read_uncommitted sees them), so the filter is what hides them', async () => {
    const records = await readAllRecords(topic, { readUncommitted: true });
    expect(records.filter((r) => r.key?.startsWith('aborted-'))).toHaveLength(ABORTED);
    expect(records).toHaveLength(COMMITTED + ABORTED);
  });
});
