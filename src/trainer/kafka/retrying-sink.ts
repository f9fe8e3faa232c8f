import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { someInCauseChain } from '../../kafka/cause-chain.ts';
import { isBrokerUnavailableError, isGenerationError } from '../../producer/errors.ts';

/**
 * kafkajs messages of UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION and REBALANCE_IN_PROGRESS, and of a
 * consumer that crashed and has not restarted yet (its group is gone: the membership too).
 */
const MEMBERSHIP_LOST_MESSAGE =
  /coordinator is not aware of this member|generation id is not valid|group is rebalancing|consumer group was not initialized/i;

/** isGenerationError anywhere in a kafkajs error's cause chain (kafkajs wraps protocol errors). */
export function isGenerationErrorDeep(err: unknown): boolean {
  return someInCauseChain(
    err,
    // Some kafkajs paths rethrow the coordinator's answer with only its message (no `type`).
    (e) => isGenerationError(e) || (typeof e.message === 'string' && MEMBERSHIP_LOST_MESSAGE.test(e.message)),
  );
}
import type { ModelUpdate } from '../../schemas/types.ts';
import type { PartitionOffsets } from '../offsets.ts';
import type { Rejected, TrainerSink } from '../types.ts';

export interface RetryingSinkOptions {
  /** Keep retrying a broker-unavailable failure this long (kafka.unavailablePatienceMs). */
  readonly patienceMs: number;
  readonly log: Logger;
  /** true once the trainer is stopping for good: give up at once. */
  readonly stopped?: () => boolean;
  /** Called when a commit is skipped because the member was evicted (metrics). */
  readonly onCommitSkipped?: (err: unknown) => void;
}

/**
 * A broker restart must not kill the trainer: DLQ writes, offset commits and ModelUpdates that
 * fail because the broker (or the group) is away are retried with backoff until it is back or
 * the patience runs out. Safe to repeat: the lineage (checkpoint ledger), not the group offset,
 * decides where training resumes, DLQ duplicates are tolerated and ModelUpdates are keyed.
 */
export class RetryingTrainerSink implements TrainerSink {
  constructor(
    private readonly inner: TrainerSink,
    private readonly o: RetryingSinkOptions,
  ) {}

  deadLetter(rejected: readonly Rejected[]): Promise<void> {
    return this.retry('dead-letter', () => this.inner.deadLetter(rejected));
  }

  async commit(offsets: readonly PartitionOffsets[]): Promise<void> {
    try {
      await this.retry('commit offsets', () => this.inner.commit(offsets));
    } catch (err) {
      // Our group generation ended while the broker was away (the member was evicted). The group
      // offset is advisory (the checkpoint lineage decides where training resumes, see run.ts) and
      // the next checkpoint commits a newer one, so skip it; retrying here would block the
      // eachBatch handler that kafkajs needs back to rejoin.
      if (!isGenerationErrorDeep(err)) throw err;
      this.o.onCommitSkipped?.(err);
      this.o.log.warn({ err: errorMessage(err) }, 'offset commit skipped: group generation ended, rejoining');
    }
  }

  publish(update: ModelUpdate): Promise<void> {
    return this.retry('publish model update', () => this.inner.publish(update));
  }

  private async retry(what: string, fn: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + this.o.patienceMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await fn();
        return;
      } catch (err) {
        // An evicted member is not "broker away": retrying would block kafkajs's rejoin.
        const transient = isBrokerUnavailableError(err) && !isGenerationErrorDeep(err);
        if (!transient || Date.now() > deadline || this.o.stopped?.() === true) throw err;
        this.o.log.warn({ attempt, err: errorMessage(err) }, `${what} failed; broker away? retrying`);
        await sleep(Math.min(250 * 2 ** Math.min(attempt, 5), 5000));
      }
    }
  }
}
