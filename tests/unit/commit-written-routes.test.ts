import type { Consumer, Kafka, Producer } from 'kafkajs';
import { firstValueFrom, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { PipelineMetrics } from '../../src/metrics/pipeline-metrics.ts';
import { commit } from '../../src/operators/commit.ts';
import type { Batch, Outbound } from '../../src/operators/types.ts';
import { AtLeastOnceLaneSink } from '../../src/producer/at-least-once-sink.ts';
import type { OutputLimits } from '../../src/producer/fit-send.ts';
import { TransactionalLaneSink } from '../../src/producer/transactional-sink.ts';
import type { LaneSink } from '../../src/producer/types.ts';
import { sourceRecord } from './operators-fixtures.ts';

const silent = createLogger('test', 'silent');

const out = (offset: number, route: 'SFT' | 'RL', bytes: number): Outbound => ({
  source: sourceRecord(offset),
  route,
  topic: route.toLowerCase(),
  key: `k${offset}`,
  value: Buffer.alloc(bytes, 0x61),
  headers: {},
});

/** prism.sft and prism.rl accept 4 KB; the DLQ topic's limit is unknown. */
const limits: OutputLimits = {
  dlqTopic: 'dlq',
  maxMessageBytes: (topic) => (topic === 'dlq' ? undefined : 4096),
};

/** One too-large SFT output between a small SFT and a small RL output. */
const batch = (): Batch<Outbound> => [out(0, 'SFT', 10), out(1, 'SFT', 20_000), out(2, 'RL', 10)];

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** The lane's last two steps (commit, then the metrics) over one batch; returns the metrics text. */
async function countThrough(sink: LaneSink, outputs: Batch<Outbound>): Promise<string> {
  const committed = await firstValueFrom(of(outputs).pipe(commit(sink, () => 0)));
  const m = new PipelineMetrics({}, { defaultMetrics: false });
  m.observeCommitted(committed);
  return m.registry.metrics();
}

function expectCountedAsWritten(text: string): void {
  expect(sample(text, 'prism_records_out_total', '{route="SFT"}')).toBe(1);
  expect(sample(text, 'prism_records_out_total', '{route="RL"}')).toBe(1);
  expect(sample(text, 'prism_records_out_total', '{route="DLQ"}')).toBe(1);
  const dlq = /^prism_dlq_records_total\{reason="OUTPUT_TOO_LARGE"[^}]*\} (\d+)$/m.exec(text);
  expect(Number(dlq?.[1])).toBe(1);
}

/** A transactional producer that records the topics of what it sends. */
function fakeTxnKafka(sent: string[]): Kafka {
  let committed: string | null = null;
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    transaction: async () => {
      let pending: string | null = null;
      return {
        sendBatch: async (b: { topicMessages: { topic: string; messages: unknown[] }[] }) => {
          for (const t of b.topicMessages) for (const _ of t.messages) sent.push(t.topic);
        },
        sendOffsets: async (o: { topics: { partitions: { offset: string }[] }[] }) => {
          pending = o.topics[0].partitions[0].offset;
        },
        commit: async () => {
          committed = pending;
        },
        abort: async () => undefined,
        isActive: () => false,
      };
    },
  };
  return { producer: () => producer, committed: () => committed } as unknown as Kafka;
}

describe('commit counts the batch the sink wrote (prism_records_out_total{route})', () => {
  it('transactional sink: an SFT output rerouted to the DLQ (OUTPUT_TOO_LARGE) counts as DLQ', async () => {
    const sent: string[] = [];
    const kafka = fakeTxnKafka(sent);
    const committedOffset = async (): Promise<string | null> =>
      (kafka as unknown as { committed: () => string | null }).committed();
    const sink = await TransactionalLaneSink.open({
      kafka,
      transactionalId: 'tx',
      groupId: 'g',
      topic: 'in',
      partition: 0,
      transactionTimeoutMs: 2000,
      maxAttempts: 3,
      committedOffset,
      stableOffset: committedOffset,
      log: silent,
      limits,
    });
    const text = await countThrough(sink, batch());
    expect([...sent].sort()).toEqual(['dlq', 'rl', 'sft']);
    expectCountedAsWritten(text);
  });

  it('at-least-once sink: the same', async () => {
    const sent: string[] = [];
    const producer = {
      sendBatch: async (b: { topicMessages: { topic: string; messages: unknown[] }[] }) => {
        for (const t of b.topicMessages) for (const _ of t.messages) sent.push(t.topic);
      },
    } as unknown as Producer;
    const consumer = { commitOffsets: async () => undefined } as unknown as Consumer;
    const sink = new AtLeastOnceLaneSink({
      producer,
      consumer,
      topic: 'in',
      partition: 0,
      limits,
      log: silent,
    });
    const text = await countThrough(sink, batch());
    expect([...sent].sort()).toEqual(['dlq', 'rl', 'sft']);
    expectCountedAsWritten(text);
  });

  it('without topic limits (or a sink that returns nothing) the outputs count as routed', async () => {
    const sink: LaneSink = {
      write: async () => undefined,
      abort: () => undefined,
      close: async () => undefined,
    };
    const text = await countThrough(sink, batch());
    expect(sample(text, 'prism_records_out_total', '{route="SFT"}')).toBe(2);
    expect(sample(text, 'prism_records_out_total', '{route="DLQ"}')).toBeUndefined();
  });
});
