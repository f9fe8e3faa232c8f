import type { Consumer, Message, Producer } from 'kafkajs';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Outbound } from '../../operators/types.ts';
import { MAX_SHRINK } from '../../producer/fit-send.ts';
import { fitOutput, isMessageTooLargeError, type OutputLimits } from '../../producer/fit.ts';
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
  /** Topic limits: a dead letter the DLQ would refuse is written without its payload (producer/fit.ts). */
  limits?: OutputLimits;
  log?: Logger;
}

/** The trainer's Kafka side effects: DLQ writes, group offset commits, ModelUpdate publication. */
export class KafkaTrainerSink implements TrainerSink {
  constructor(private readonly o: KafkaSinkOptions) {}

  async deadLetter(rejected: readonly Rejected[]): Promise<void> {
    if (rejected.length === 0) return;
    const outs = rejected.map(({ record, error }): Outbound => {
      const source = {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        key: record.key,
        value: record.raw,
        headers: record.headers,
        timestamp: 0,
      };
      const dl = buildDeadLetter(source, error);
      return {
        source,
        route: 'DLQ',
        topic: this.o.dlqTopic,
        key: dl.key,
        value: dl.value,
        headers: dl.headers,
      };
    });
    // Each dead letter goes alone when limits are known, so one record batch never holds two large ones.
    for (let shrink = 0; ; shrink += 1) {
      try {
        await this.send(outs, shrink);
        return;
      } catch (err) {
        if (this.o.limits === undefined || !isMessageTooLargeError(err) || shrink >= MAX_SHRINK) throw err;
        this.o.log?.warn(
          { shrink, err: errorMessage(err) },
          'DLQ refused a dead letter as too large; shrinking',
        );
      }
    }
  }

  private async send(outs: readonly Outbound[], shrink: number): Promise<void> {
    const limits = this.o.limits;
    const messages: Message[] = outs.map((o) => {
      const fitted = limits === undefined ? o : fitOutput(o, limits, shrink).output;
      if (fitted !== o)
        this.o.log?.warn(
          {
            source: { topic: o.source.topic, partition: o.source.partition, offset: o.source.offset },
            shrink,
          },
          'dead letter too large for the DLQ topic: written without its payload (the original stays in the input topic)',
        );
      return { key: fitted.key, value: fitted.value, headers: fitted.headers };
    });
    if (limits === undefined) {
      await this.o.producer.send({ topic: this.o.dlqTopic, acks: -1, messages });
      return;
    }
    for (const m of messages) await this.o.producer.send({ topic: this.o.dlqTopic, acks: -1, messages: [m] });
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
