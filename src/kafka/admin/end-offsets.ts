import type { Admin } from 'kafkajs';
import { BrokerError, errorMessage } from '../../errors.ts';
import { someInCauseChain } from '../cause-chain.ts';

/**
 * Kafka answers these while a partition's leadership is still settling: right after a topic is
 * created, after a broker restart, or when a loaded KRaft broker's metadata cache lags the
 * controller. kafkajs' admin retries them only for its own short budget (seconds), which a busy
 * machine outlasts; the caller wants the offsets, not the transient.
 */
const SETTLING_TYPES = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REPLICA_NOT_AVAILABLE',
]);

/** True when `err` (or an error it wraps) says leadership is settling, or kafkajs marked it retriable. */
export function isLeadershipSettling(err: unknown): boolean {
  return someInCauseChain(
    err,
    (e) => (typeof e.type === 'string' && SETTLING_TYPES.has(e.type)) || e.retriable === true,
  );
}

export interface EndOffsetsOptions {
  /** Keep retrying settling answers this long before giving up (default 60 s). */
  readonly patienceMs?: number;
  /** Pause between attempts (default 250 ms). */
  readonly everyMs?: number;
  /** Injectable clock and sleep for tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * End offsets of every partition of `topic` (the last stable offset: kafkajs lists offsets with
 * READ_COMMITTED), retrying while leadership settles. Other errors are thrown at once; running out
 * of patience throws KAFKA_OFFSETS_UNAVAILABLE naming the topic and the last answer.
 */
export async function fetchEndOffsets(
  admin: Pick<Admin, 'fetchTopicOffsets'>,
  topic: string,
  opts: EndOffsetsOptions = {},
): Promise<Map<number, bigint>> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const patienceMs = opts.patienceMs ?? 60_000;
  const start = now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((p) => [p.partition, BigInt(p.offset)]));
    } catch (err) {
      if (!isLeadershipSettling(err)) throw err;
      if (now() - start >= patienceMs) {
        throw new BrokerError(
          'KAFKA_OFFSETS_UNAVAILABLE',
          `end offsets of topic ${topic} still unavailable after ${attempts} attempts over ` +
            `${Math.round((now() - start) / 1000)} s (last answer: ${errorMessage(err)}); ` +
            'is the broker healthy and does the topic exist?',
          { cause: err },
        );
      }
    }
    await sleep(opts.everyMs ?? 250);
  }
}
