import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { fetchCommittedOffset } from '../consumer/committed-offsets.ts';
import { fetchStableOffset } from '../consumer/stable-offsets.ts';
import type { LaneOpener } from '../consumer/source.ts';
import type { ResolvedKafkaSecurity } from '../kafka/security/resolve.ts';
import type { Logger } from '../log.ts';
import { AtLeastOnceLaneSink } from './at-least-once-sink.ts';
import type { FitReport, OutputLimits } from './fit-send.ts';
import { TransactionalLaneSink } from './transactional-sink.ts';
import { transactionalIdFor } from './transactional-id.ts';

export interface TransactionalOpenerOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** For the require_stable offset read (see consumer/stable-offsets.ts). */
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** TLS/SASL for the hand-written offset read (same settings as `kafka`). */
  readonly security?: ResolvedKafkaSecurity;
  readonly groupId: string;
  readonly transactionalIdPrefix: string;
  readonly transactionTimeoutMs: number;
  readonly maxAttempts: number;
  readonly log: Logger;
  readonly onTransaction?: (result: 'commit' | 'abort') => void;
  /** Topic limits: outputs a topic would refuse are written without payload (producer/fit.ts). */
  readonly limits?: OutputLimits;
  readonly onFitted?: (report: FitReport) => void;
}

/**
 * Exactly-once lanes: one transactional producer per input partition, opened when the partition
 * is assigned and closed when it is revoked. Order matters: init the producer first (fencing the
 * previous owner and completing its open transaction), then read the committed offset.
 */
export function transactionalOpener(o: TransactionalOpenerOptions): LaneOpener {
  return {
    async open(topic, partition) {
      const committedOffset = () => fetchCommittedOffset(o.admin, o.groupId, topic, partition);
      const stableOffset = () =>
        fetchStableOffset({
          brokers: o.brokers,
          clientId: o.clientId,
          security: o.security,
          groupId: o.groupId,
          topic,
          partition,
          timeoutMs: o.transactionTimeoutMs,
        });
      const sink = await TransactionalLaneSink.open({
        kafka: o.kafka,
        transactionalId: transactionalIdFor(o.transactionalIdPrefix, o.groupId, topic, partition),
        groupId: o.groupId,
        topic,
        partition,
        transactionTimeoutMs: o.transactionTimeoutMs,
        maxAttempts: o.maxAttempts,
        committedOffset,
        stableOffset,
        log: o.log,
        onTransaction: o.onTransaction,
        limits: o.limits,
        onFitted: o.onFitted,
      });
      try {
        // Stable read: the previous owner's last transaction may be committed while its offsets
        // are not applied yet; a plain read would then resume behind committed outputs.
        return { sink, committedOffset: await stableOffset() };
      } catch (err) {
        await sink.close();
        throw err;
      }
    },
  };
}

export interface AtLeastOnceOpenerExtras {
  readonly limits?: OutputLimits;
  readonly log?: Logger;
  readonly onFitted?: (report: FitReport) => void;
}

/** At-least-once lanes share one idempotent producer and commit through the consumer. */
export function atLeastOnceOpener(
  producer: Producer,
  consumer: Consumer,
  extras: AtLeastOnceOpenerExtras = {},
): LaneOpener {
  return {
    async open(topic, partition) {
      return {
        sink: new AtLeastOnceLaneSink({ producer, consumer, topic, partition, ...extras }),
        committedOffset: null,
      };
    },
  };
}
