import type { Consumer } from 'kafkajs';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * pause/resume of the input topic's partitions that can never throw into the lane machinery.
 *
 * kafkajs throws from `pause`/`resume` ("Consumer group was not initialized, consumer#run must be
 * called first") whenever its consumer is not running — in particular between a crash (broker
 * away: retries exhausted, `restart: true`) and the restart, exactly when lanes are revoked and
 * drained. A flow request then has nothing to act on: the restarted consumer starts a new group
 * generation whose lanes resume every assigned partition (KafkaSource's GROUP_JOIN handler). So
 * requests while the consumer is down are dropped, and any other failure is logged, not thrown.
 */
export class PartitionFlow {
  private running = false;

  constructor(
    private readonly consumer: Pick<Consumer, 'pause' | 'resume'>,
    private readonly topic: string,
    private readonly log: Logger,
  ) {}

  /** Whether the kafkajs consumer is running (run() done / group joined, and not stopped or crashed). */
  get live(): boolean {
    return this.running;
  }

  /** Marks the consumer as running (after run(), on GROUP_JOIN) or down (STOP, CRASH). */
  setLive(running: boolean): void {
    this.running = running;
  }

  pause(partitions: readonly number[]): boolean {
    return this.apply('pause', partitions);
  }

  resume(partitions: readonly number[]): boolean {
    return this.apply('resume', partitions);
  }

  /** Returns whether the request reached the consumer. */
  private apply(op: 'pause' | 'resume', partitions: readonly number[]): boolean {
    if (partitions.length === 0) return true;
    if (!this.running) {
      this.log.debug({ op, topic: this.topic, partitions }, 'consumer not running: flow request dropped');
      return false;
    }
    try {
      this.consumer[op]([{ topic: this.topic, partitions: [...partitions] }]);
      return true;
    } catch (err) {
      this.log.warn(
        { op, topic: this.topic, partitions, err: errorMessage(err) },
        'consumer flow request failed (the next group generation resumes every assigned partition)',
      );
      return false;
    }
  }
}
