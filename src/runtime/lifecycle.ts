import { PrismError, errorMessage } from '../errors.ts';
import { startBrokerWatchdog, type BrokerWatchdog } from '../kafka/watchdog.ts';
import type { Logger } from '../log.ts';

export interface LifecycleOptions {
  readonly log: Logger;
  /** Logged (error level) when the runtime fails, with the error and its code. */
  readonly failMessage: string;
  /**
   * Releases everything the runtime holds. `cause` is the failure, or undefined for a graceful
   * stop. Called at most once.
   */
  readonly shutdown: (cause: unknown) => Promise<void>;
  /** Runs first on a failure, before shutdown (e.g. abort in-flight lanes so nothing commits). */
  readonly onFail?: (err: unknown) => void;
  /**
   * A failure's shutdown is awaited at most this long before `done` rejects (the broker may be
   * gone and leaving the group hang); undefined = awaited in full.
   */
  readonly failShutdownTimeoutMs?: number;
}

/**
 * The lifecycle of a long-running runtime (`prism run`, `prism train`): one `done` promise that
 * resolves after a graceful stop() and rejects with the first fatal error, a shutdown that runs
 * exactly once whichever comes first, and the broker watchdog that turns a long outage into a
 * failure. stop() after a failure (or a second stop) just waits for the first one.
 */
export class Lifecycle {
  readonly done: Promise<void>;
  private settle: { resolve: () => void; reject: (e: unknown) => void } = {
    resolve: () => undefined,
    reject: () => undefined,
  };
  private state: 'running' | 'stopping' | 'failed' = 'running';
  private failure: unknown;
  private watchdog: BrokerWatchdog | undefined;
  private shutdownStarted = false;

  constructor(private readonly o: LifecycleOptions) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A rejection nobody awaits yet must not crash the process before the caller handles it.
    this.done.catch(() => undefined);
  }

  /** True once stop() or fail() began: no new work should start. */
  get stopping(): boolean {
    return this.state !== 'running';
  }

  get failed(): boolean {
    return this.state === 'failed';
  }

  /** The fatal error, if the runtime failed. */
  get error(): unknown {
    return this.failure;
  }

  /**
   * Fails the runtime when no broker request succeeded for `patienceMs` (kafka.unavailablePatienceMs).
   * `probe` asks the broker directly while the clients are silent (see kafka/watchdog.ts).
   */
  watchBroker(lastOkAt: () => number, patienceMs: number, probe?: () => Promise<unknown>): void {
    this.watchdog?.stop();
    this.watchdog = startBrokerWatchdog({
      lastOkAt,
      patienceMs,
      probe,
      onExpired: (err) => void this.fail(err),
    });
  }

  /** The first fatal error: abort, shut down (bounded), reject `done`. Later calls are ignored. */
  async fail(err: unknown): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.failure = err;
    this.logFailure(err);
    this.o.onFail?.(err);
    const shutdown = this.shutdown(err);
    const limit = this.o.failShutdownTimeoutMs;
    await (limit === undefined
      ? shutdown
      : Promise.race([shutdown, new Promise((resolve) => setTimeout(resolve, limit).unref())]));
    this.settle.reject(err);
  }

  /**
   * Graceful stop; resolves `done` when everything is released (or waits for a failure in
   * progress). A graceful shutdown that throws (e.g. the final checkpoint) rejects `done` with it.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return this.done.catch(() => undefined);
    this.state = 'stopping';
    try {
      await this.shutdown(undefined);
    } catch (err) {
      this.state = 'failed';
      this.failure = err;
      this.logFailure(err);
      this.settle.reject(err);
      return;
    }
    this.settle.resolve();
  }

  private logFailure(err: unknown): void {
    this.o.log.error(
      { err: errorMessage(err), code: err instanceof PrismError ? err.code : undefined },
      this.o.failMessage,
    );
  }

  private async shutdown(cause: unknown): Promise<void> {
    if (this.shutdownStarted) return;
    this.shutdownStarted = true;
    this.watchdog?.stop();
    if (cause === undefined) return this.o.shutdown(undefined);
    await this.o.shutdown(cause).catch((e: unknown) => {
      this.o.log.warn({ err: errorMessage(e) }, 'shutdown after the failure did not complete');
    });
  }
}
