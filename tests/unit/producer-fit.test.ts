import type { Consumer, IHeaders, Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import type { Outbound } from '../../src/operators/types.ts';
import { AtLeastOnceLaneSink } from '../../src/producer/at-least-once-sink.ts';
import type { FitReport } from '../../src/producer/fit-send.ts';
import {
  OVERSIZE_CODES,
  OVERSIZE_HEADERS,
  fitOutput,
  isMessageTooLargeError,
  sendBudget,
  soloRecordBytes,
  type OutputLimits,
} from '../../src/producer/fit.ts';
import { TransactionalLaneSink } from '../../src/producer/transactional-sink.ts';
import { buildDeadLetter } from '../../src/schemas/dead-letter.ts';
import { RecordError } from '../../src/schemas/errors.ts';
import { sourceRecord } from './operators-fixtures.ts';

const silent = createLogger('test', 'silent');
const KIB = 1024;

function limits(perTopic: Record<string, number>): OutputLimits {
  return { dlqTopic: 'dlq', maxMessageBytes: (t) => perTopic[t] };
}

function deadLetterOut(offset: number, valueBytes: number): Outbound {
  const source = {
    ...sourceRecord(offset),
    value: Buffer.alloc(valueBytes, 7),
    key: Buffer.from(`k${offset}`),
  };
  const dl = buildDeadLetter(source, new RecordError('RECORD_TOO_LARGE', 'record is too large'));
  return {
    source,
    route: 'DLQ',
    topic: 'dlq',
    key: dl.key,
    value: dl.value,
    headers: dl.headers,
    reason: 'RECORD_TOO_LARGE',
  };
}

function scoredOut(offset: number, valueBytes: number, route: 'SFT' | 'RL' = 'SFT'): Outbound {
  return {
    source: sourceRecord(offset),
    route,
    topic: route === 'SFT' ? 'sft' : 'rl',
    key: `id-${offset}`,
    value: Buffer.alloc(valueBytes, 1),
    headers: {},
  };
}

const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

describe('fitOutput (outputs a topic would refuse)', () => {
  it('keeps an output that fits, untouched', () => {
    const o = deadLetterOut(3, 10 * KIB);
    expect(fitOutput(o, limits({ dlq: 1_048_588 }))).toEqual({ output: o, original: null });
  });

  it('writes a dead letter over the DLQ limit without its value, with a distinct code and where the original lives', () => {
    const o = deadLetterOut(5, 1_048_000); // accepted by a default broker, its dead letter is not
    expect(soloRecordBytes(o)).toBeGreaterThan(1_048_588);
    const { output, original } = fitOutput(o, limits({ dlq: 1_048_588 }));
    expect(original).toBe(o);
    expect(output.value).toBeNull();
    expect(output.topic).toBe('dlq');
    expect(output.reason).toBe(OVERSIZE_CODES.deadLetter);
    expect(text(output.headers['prism.error.code'])).toBe('DEAD_LETTER_TOO_LARGE');
    expect(text(output.headers[OVERSIZE_HEADERS.originalCode])).toBe('RECORD_TOO_LARGE');
    expect(text(output.headers[OVERSIZE_HEADERS.payload])).toBe('omitted');
    expect(text(output.headers[OVERSIZE_HEADERS.payloadBytes])).toBe('1048000');
    expect(text(output.headers[OVERSIZE_HEADERS.limit])).toBe('1048588');
    expect(text(output.headers['__streams.errors.topic'])).toBe('in');
    expect(text(output.headers['__streams.errors.partition'])).toBe('0');
    expect(text(output.headers['__streams.errors.offset'])).toBe('5');
    expect(output.key).toEqual(Buffer.from('k5'));
    expect(soloRecordBytes(output)).toBeLessThanOrEqual(1_048_588);
  });

  it('turns an SFT output too large for its topic into a payload-less dead letter (one output per input kept)', () => {
    const o = scoredOut(9, 2 * 1024 * KIB);
    const { output } = fitOutput(o, limits({ sft: 1_048_588, dlq: 1_048_588 }));
    expect(output).toMatchObject({ route: 'DLQ', topic: 'dlq', value: null, key: 'id-9' });
    expect(output.source).toBe(o.source);
    expect(text(output.headers['prism.error.code'])).toBe('OUTPUT_TOO_LARGE');
    expect(text(output.headers[OVERSIZE_HEADERS.originalRoute])).toBe('SFT');
    expect(text(output.headers['__streams.errors.offset'])).toBe('9');
    expect(text(output.headers['__streams.errors.message'])).toMatch(
      /max\.message\.bytes=1048588 of topic sft/,
    );
  });

  it('drops the input headers and an oversized key when even the payload-less dead letter does not fit', () => {
    const o = deadLetterOut(2, 100);
    const huge = { ...o, key: Buffer.alloc(4 * KIB), headers: { ...o.headers, big: Buffer.alloc(20 * KIB) } };
    const { output } = fitOutput(huge, limits({ dlq: 16 * KIB }));
    expect(output.key).toBeNull();
    expect(output.headers.big).toBeUndefined();
    expect(text(output.headers[OVERSIZE_HEADERS.headers])).toBe('omitted');
    expect(text(output.headers['prism.error.code'])).toBe('DEAD_LETTER_TOO_LARGE');
    expect(soloRecordBytes(output)).toBeLessThanOrEqual(16 * KIB);
  });

  it('leaves outputs alone when the limit is unknown, and halves the assumed limit per shrink step', () => {
    const o = scoredOut(1, 300 * KIB);
    expect(fitOutput(o, limits({})).original).toBeNull();
    expect(fitOutput(o, limits({ sft: 1_048_588 }), 1).original).toBeNull(); // 512 KiB still fits
    expect(fitOutput(o, limits({ sft: 1_048_588 }), 2).original).toBe(o); // 256 KiB does not
  });

  it('sizes produce calls so no topic gets a record batch over its limit', () => {
    expect(sendBudget([scoredOut(1, 10)], limits({ sft: 64 * KIB }), 512 * KIB)).toBeLessThan(64 * KIB);
    expect(sendBudget([scoredOut(1, 10)], limits({}), 512 * KIB)).toBe(512 * KIB);
  });

  it('recognises the broker refusal, also wrapped', () => {
    const refusal = Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' });
    expect(isMessageTooLargeError(refusal)).toBe(true);
    expect(isMessageTooLargeError({ name: 'KafkaJSAggregateError', errors: [refusal] })).toBe(true);
    expect(isMessageTooLargeError(new Error('broker down'))).toBe(false);
  });
});

/** A transactional producer whose broker refuses any record batch over `maxBytes` (like a real one). */
function refusingKafka(maxBytes: Record<string, number>) {
  const written: { topic: string; value: Buffer | null; headers: IHeaders }[] = [];
  let committed: string | null = null;
  const kafka = {
    producer: () =>
      ({
        connect: async () => undefined,
        disconnect: async () => undefined,
        transaction: async () => {
          let active = true;
          const pending: typeof written = [];
          let offset: string | null = null;
          return {
            sendBatch: async (b: {
              topicMessages: {
                topic: string;
                messages: { value: Buffer | null; headers: IHeaders }[];
              }[];
            }) => {
              for (const tm of b.topicMessages) {
                const size = tm.messages.reduce((n, m) => n + soloRecordBytes({ ...m, key: null }), 0);
                if (size > (maxBytes[tm.topic] ?? Infinity))
                  throw Object.assign(
                    new Error('The request included a message larger than the max message size'),
                    {
                      type: 'MESSAGE_TOO_LARGE',
                    },
                  );
                pending.push(...tm.messages.map((m) => ({ topic: tm.topic, ...m })));
              }
            },
            sendOffsets: async (o: { topics: { partitions: { offset: string }[] }[] }) => {
              offset = o.topics[0].partitions[0].offset;
            },
            commit: async () => {
              active = false;
              written.push(...pending);
              committed = offset;
            },
            abort: async () => {
              active = false;
            },
            isActive: () => active,
          };
        },
      }) as unknown as Producer,
  };
  return { kafka: kafka as unknown as Kafka, written, committed: () => committed };
}

describe('sinks write what a topic would refuse without its payload, never retrying it for ever', () => {
  it('transactional: an oversized dead letter is fitted before sending and the batch commits', async () => {
    const k = refusingKafka({ dlq: 1_048_588, sft: 1_048_588 });
    const fitted: FitReport[] = [];
    const sink = await TransactionalLaneSink.open({
      kafka: k.kafka,
      transactionalId: 'tx',
      groupId: 'g',
      topic: 'in',
      partition: 0,
      transactionTimeoutMs: 2000,
      maxAttempts: 2,
      committedOffset: async () => k.committed(),
      stableOffset: async () => k.committed(),
      log: silent,
      limits: limits({ dlq: 1_048_588, sft: 1_048_588 }),
      onFitted: (r) => void fitted.push(r),
    });
    await sink.write([scoredOut(0, 100), deadLetterOut(1, 1_048_000), scoredOut(2, 100)]);
    expect(k.committed()).toBe('3');
    expect(k.written.map((w) => [w.topic, w.value?.length ?? null])).toEqual([
      ['sft', 100],
      ['sft', 100],
      ['dlq', null],
    ]);
    expect(fitted).toMatchObject([
      { code: 'DEAD_LETTER_TOO_LARGE', source: { offset: '1' }, toTopic: 'dlq' },
    ]);
  });

  it('transactional: a broker limit smaller than the one described (changed at run time) is found by retrying', async () => {
    const k = refusingKafka({ dlq: 100 * KIB });
    const sink = await TransactionalLaneSink.open({
      kafka: k.kafka,
      transactionalId: 'tx',
      groupId: 'g',
      topic: 'in',
      partition: 0,
      transactionTimeoutMs: 2000,
      maxAttempts: 1, // a refusal must not count as a failed attempt
      committedOffset: async () => k.committed(),
      stableOffset: async () => k.committed(),
      log: silent,
      limits: limits({ dlq: 1_048_588 }),
    });
    await sink.write([deadLetterOut(0, 300 * KIB)]);
    expect(k.committed()).toBe('1');
    expect(k.written).toHaveLength(1);
    expect(k.written[0]?.value).toBeNull();
    expect(text(k.written[0]?.headers['prism.error.code'])).toBe('DEAD_LETTER_TOO_LARGE');
  }, 30_000);

  it('at-least-once: the same rule, and a commit refused because the consumer is down ends the lane', async () => {
    const sent: (Buffer | null)[] = [];
    const producer = {
      sendBatch: async (b: { topicMessages: { messages: { value: Buffer | null }[] }[] }) =>
        void b.topicMessages.forEach((t) => t.messages.forEach((m) => sent.push(m.value))),
    } as unknown as Producer;
    const consumer = {
      commitOffsets: async () => {
        throw new Error('Consumer group was not initialized, consumer#run must be called first');
      },
    } as unknown as Consumer;
    const sink = new AtLeastOnceLaneSink({
      producer,
      consumer,
      topic: 'in',
      partition: 0,
      limits: limits({ dlq: 1_048_588 }),
      log: silent,
    });
    await expect(sink.write([deadLetterOut(0, 1_048_000)])).rejects.toMatchObject({ code: 'LANE_ABORTED' });
    expect(sent).toEqual([null]);
  });
});
