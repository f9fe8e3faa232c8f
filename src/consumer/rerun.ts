import type { Consumer, ConsumerRunConfig } from 'kafkajs';
import { errorMessage } from '../errors.ts';
import { isBrokerAway } from '../kafka/errors.ts';
import type { Logger } from '../log.ts';

export interface RerunOptions {
  readonly consumer: Pick<Consumer, 'run'>;
  /** What consumer.run was first given (kafkajs keeps the subscription across its disconnect). */
  readonly config: () => ConsumerRunConfig;
  /** Wait before running it again. */
  readonly delayMs: number;
  readonly log: Logger;
  /** True once the owner is stopping: no rerun then. */
  readonly stopping: () => boolean;
  /** consumer.run itself threw (a broker still away makes it crash again instead, which comes back here). */
  readonly onFatal: (error: Error) => void;
}

/**
 * Runs a kafkajs consumer again after it gave up only because no broker answered.
 *
 * kafkajs restarts a crashed consumer by itself after retriable errors only. When every broker is
 * away during its group-coordinator lookup, `findGroupCoordinator` throws
 * KafkaJSGroupCoordinatorNotFound, which is non-retriable, and the consumer crashes for good
 * (CRASH with `restart: false`): seen when a broker restart outlasts the lookup's retries on a
 * loaded machine. That is a broker away, not a refusal. How long brokers may stay away is the
 * watchdog's call (`kafka.unavailablePatienceMs`), not kafkajs' retry count.
 */
export class ConsumerRerun {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly o: RerunOptions) {}

  /** After a CRASH: true when kafkajs restarts it or a rerun is now scheduled; false when the crash is fatal. */
  offer(error: Error, restart: boolean): boolean {
    if (restart) return true;
    if (this.o.stopping() || !isBrokerAway(error)) return false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.rerun(), this.o.delayMs);
    return true;
  }

  private rerun(): void {
    if (this.o.stopping()) return;
    this.o.log.warn({}, 'running the consumer again after kafkajs gave up while no broker answered');
    this.o.consumer.run(this.o.config()).catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(errorMessage(err));
      this.o.log.error({ err: e.message }, 'consumer could not be run again');
      this.o.onFatal(e);
    });
  }
}
