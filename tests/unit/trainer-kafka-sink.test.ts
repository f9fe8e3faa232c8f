import type { Consumer, Message, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { TopicLimits } from '../../src/kafka/admin/topic-limits.ts';
import { RecordError } from '../../src/schemas/errors.ts';
import { isGenerationErrorDeep } from '../../src/trainer/kafka/retrying-sink.ts';
import { KafkaTrainerSink } from '../../src/trainer/kafka/sink.ts';
import type { TrainerCodecs } from '../../src/trainer/kafka/codecs.ts';

const silent = createLogger('test', 'silent');

function rejected(offset: number, bytes: number) {
  return {
    record: {
      topic: 'sft',
      partition: 1,
      offset: String(offset),
      key: Buffer.from(`id-${offset}`),
      raw: Buffer.alloc(bytes, 3),
      headers: {},
    },
    error: new RecordError('DECODE_BAD_MAGIC', 'not a scored trajectory'),
  };
}

describe('KafkaTrainerSink dead letters', () => {
  it('writes a dead letter the DLQ would refuse without its payload, and keeps the small ones whole', async () => {
    const sent: Message[] = [];
    const producer = {
      send: async (r: { topic: string; messages: Message[] }) => void sent.push(...r.messages),
    } as unknown as Producer;
    const sink = new KafkaTrainerSink({
      producer,
      consumer: {} as Consumer,
      codecs: {} as TrainerCodecs,
      dlqTopic: 'dlq',
      modelUpdatesTopic: 'updates',
      modelId: 'm',
      limits: TopicLimits.of('dlq', { dlq: 100_000, sft: 1_000_000 }),
      log: silent,
    });
    await sink.deadLetter([rejected(4, 500), rejected(5, 400_000)]);
    expect(sent.map((m) => (m.value as Buffer | null)?.length ?? null)).toEqual([500, null]);
    const h = sent[1]?.headers ?? {};
    expect(String(h['prism.error.code'])).toBe('DEAD_LETTER_TOO_LARGE');
    expect(String(h['prism.error.original.code'])).toBe('DECODE_BAD_MAGIC');
    expect(String(h['prism.error.payload'])).toBe('omitted');
    expect(String(h['__streams.errors.offset'])).toBe('5');
  });
});

describe('isGenerationErrorDeep', () => {
  it('treats a crashed (not yet restarted) consumer as lost membership: the commit is skipped, not fatal', () => {
    const err = Object.assign(
      new Error('Consumer group was not initialized, consumer#run must be called first'),
      {
        name: 'KafkaJSNonRetriableError',
      },
    );
    expect(isGenerationErrorDeep(err)).toBe(true);
    expect(isGenerationErrorDeep(new Error('The coordinator is not aware of this member'))).toBe(true);
    expect(isGenerationErrorDeep(new Error('schema mismatch'))).toBe(false);
  });
});
