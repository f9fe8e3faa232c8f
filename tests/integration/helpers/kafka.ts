/**
 * Shared helpers for integration tests against the broker of global-setup.ts.
 * Every test uses uniqueName() for its topics and groups: the broker is shared by all files.
 */
import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, IHeaders, ITopicConfig, Kafka } from 'kafkajs';
import { inject } from 'vitest';
import { fetchEndOffsets } from '../../../src/kafka/admin/end-offsets.ts';
import { createKafka } from '../../../src/kafka/client.ts';
import { waitUntil } from './wait.ts';

/** host:port list of the broker under test. */
export function testBrokers(): string[] {
  return inject('kafkaBrokers')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A topic/group/transactional-id name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safe}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * A kafkajs client for the test broker. kafkajs logs at ERROR for every retried response (e.g.
 * CONCURRENT_TRANSACTIONS right after a commit), which drowns test output, so its logs are off
 * unless PRISM_LOG_LEVEL is set; failures still surface as exceptions.
 */
export function testKafka(clientId = 'prism-test'): Kafka {
  const level = process.env.PRISM_LOG_LEVEL;
  return createKafka({
    brokers: testBrokers(),
    clientId,
    ...(level === undefined || level === '' ? { logLevel: 'nothing' as const } : {}),
  });
}

export async function withTestAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka('prism-test-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export interface CreateTestTopicOptions {
  partitions?: number;
  configs?: Record<string, string>;
}

/**
 * Creates topics and waits until every partition has a leader. Not kafkajs' `waitForLeaders`: it
 * retries only LEADER_NOT_AVAILABLE, while a broker whose metadata cache lags the controller (KRaft,
 * a loaded machine) answers UNKNOWN_TOPIC_OR_PARTITION for a moment and kafkajs throws that.
 */
export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[]): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, topics });
  for (const t of topics) {
    const want = t.numPartitions ?? 1;
    await waitUntil({
      what: `leaders for every partition of ${t.topic}`,
      check: async () => {
        const md = await admin.fetchTopicMetadata({ topics: [t.topic] });
        const parts = md.topics[0]?.partitions ?? [];
        const led = parts.filter((p) => p.leader >= 0).length;
        return (parts.length === want && led === want) || `${led} of ${want} partitions have a leader`;
      },
      budgetMs: 60_000,
      everyMs: 100,
    });
  }
}

/** Create a topic (waiting for its leaders) and return its name. */
export async function createTestTopic(name: string, opts: CreateTestTopicOptions = {}): Promise<string> {
  await withTestAdmin((admin) =>
    createTopicsAndWait(admin, [
      {
        topic: name,
        numPartitions: opts.partitions ?? 1,
        replicationFactor: 1,
        configEntries: Object.entries(opts.configs ?? {}).map(([k, v]) => ({ name: k, value: v })),
      },
    ]),
  );
  return name;
}

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: IHeaders;
}

export interface ReadAllOptions {
  /** read_uncommitted instead (to see aborted records too); default false */
  readUncommitted?: boolean;
  /** give up after this long; default 60 s */
  timeoutMs?: number;
}

/** End offsets per partition as the isolation level sees them (LSO for read_committed). */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs' admin ListOffsets uses READ_COMMITTED: the last stable offset. Every committed or
    // aborted transaction before the call is below it.
    return await fetchEndOffsets(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

/**
 * All records of `topic` from the beginning up to its current end, read_committed by default
 * (aborted records and transaction markers skipped). Uses a throwaway consumer group and stops
 * once every partition's fetch position reached the end offset taken at the start: progress is
 * tracked from kafkajs batch events, which also cover batches of only markers/aborted records.
 */
export async function readAllRecords(topic: string, opts: ReadAllOptions = {}): Promise<ReadRecord[]> {
  const kafka = testKafka('prism-test-reader');
  const targets = await endOffsets(kafka, topic);
  const pending = new Set([...targets].filter(([, end]) => end > 0n).map(([p]) => p));
  const records: ReadRecord[] = [];
  if (pending.size === 0) return records;

  const consumer: Consumer = kafka.consumer({
    groupId: uniqueName('read-all'),
    readUncommitted: opts.readUncommitted ?? false,
    maxWaitTimeInMs: 200,
  });
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolveDone) => {
    finish = resolveDone;
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic) return;
    const position = BigInt(payload.lastOffset) + 1n;
    const end = targets.get(payload.partition);
    if (end !== undefined && position >= end) pending.delete(payload.partition);
    if (pending.size === 0) finish();
  });

  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const end = targets.get(partition);
        if (end !== undefined && BigInt(message.offset) >= end) return; // written after we started
        records.push({
          topic: t,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? null,
          value: message.value?.toString('utf8') ?? null,
          headers: message.headers ?? {},
        });
      },
    });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `readAllRecords(${topic}): partitions ${[...pending].join(',')} not read to the end in ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** readAllRecords, read_committed. */
export function readAllCommitted(
  topic: string,
  opts: Omit<ReadAllOptions, 'readUncommitted'> = {},
): Promise<ReadRecord[]> {
  return readAllRecords(topic, { ...opts, readUncommitted: false });
}
