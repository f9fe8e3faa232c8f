import type { Consumer, Producer } from 'kafkajs';
import { buildDeadLetter } from '../../schemas/dead-letter.ts';
import type { ModelUpdate } from '../../schemas/types.ts';
import type { PartitionOffsets } from '../offsets.ts';
import type { Rejected, TrainerSink } from '../types.ts';
import type { TrainerCodecs } from './codecs.ts';

export interface KafkaSinkOptions {
  producer: Producer;
  consumer: Consumer;
  codecs: TrainerCodecs;
  dlqTopic: string;
  modelUpdatesTopic: string;
  modelId: string;
}

/** The trainer's Kafka side effects: DLQ writes, group offset commits, ModelUpdate publication. */
export class KafkaTrainerSink implements TrainerSink {
  constructor(private readonly o: KafkaSinkOptions) {}

  async deadLetter(rejected: readonly Rejected[]): Promise<void> {
    if (rejected.length === 0) return;
    await this.o.producer.send({
      topic: this.o.dlqTopic,
      acks: -1,
      messages: rejected.map(({ record, error }) =>
        buildDeadLetter(
          {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            key: record.key,
            value: record.raw,
            headers: record.headers,
          },
          error,
        ),
      ),
    });
  }

  async commit(offsets: readonly PartitionOffsets[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.o.consumer.commitOffsets(
      offsets.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.offset })),
    );
  }

  async publish(update: ModelUpdate): Promise<void> {
    await this.o.producer.send({
      topic: this.o.modelUpdatesTopic,
      acks: -1,
      messages: [
        {
          key: this.o.modelId,
          value: await this.o.codecs.encodeUpdate(update),
          headers: { 'prism.model.version': update.version },
        },
      ],
    });
  }
}
