import { monitorEventLoopDelay } from 'node:perf_hooks';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { DemoError } from './errors.ts';

interface Step {
  readonly order: number;
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

/**
 * What the demo started, stopped in a fixed order whatever happens (normal end, error, Ctrl-C):
 * trainers (1), arbitrator (2), output reader (3), broker (4). Each step is registered as soon as
 * its start *begins*, and awaits that start, so a start still in flight is stopped once it lands.
 */
export class Teardown {
  private readonly steps: Step[] = [];
  private running: Promise<string[]> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly say: (line: string) => void,
    private readonly stepTimeoutMs = 60_000,
  ) {}

  add(order: number, name: string, run: () => Promise<unknown>): void {
    this.steps.push({ order, name, run });
  }

  /** Runs every step once (later calls return the same promise); resolves with the failures. */
  runAll(): Promise<string[]> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<string[]> {
    const failures: string[] = [];
    const steps = [...this.steps].sort((a, b) => a.order - b.order);
    for (const order of [...new Set(steps.map((s) => s.order))]) {
      // Steps of one order (the two trainers) stop side by side.
      await Promise.all(
        steps
          .filter((s) => s.order === order)
          .map(async (s) => {
            const t0 = Date.now();
            let timer: NodeJS.Timeout | undefined;
            try {
              await Promise.race([
                s.run(),
                new Promise((_, reject) => {
                  timer = setTimeout(
                    () => reject(new Error(`did not stop within ${this.stepTimeoutMs / 1000} s`)),
                    this.stepTimeoutMs,
                  );
                }),
              ]);
              this.log.info({ step: s.name, ms: Date.now() - t0 }, 'demo: stopped');
            } catch (err) {
              failures.push(`${s.name}: ${errorMessage(err)}`);
              this.log.error({ step: s.name, err: errorMessage(err) }, 'demo: stop failed');
              this.say(`  could not stop ${s.name} cleanly: ${errorMessage(err)}`);
            } finally {
              clearTimeout(timer);
            }
          }),
      );
    }
    return failures;
  }
}

/**
 * Ctrl-C / SIGTERM and component failures as one rejection that every wait of the demo races
 * against. A second signal forces the exit (after `force`, e.g. SIGKILL of the broker).
 */
export class Guard {
  readonly stopped: Promise<never>;
  private reject: (err: Error) => void = () => undefined;
  private signals = 0;
  private readonly onSignal: (signal: NodeJS.Signals) => void;
  interrupted = false;

  constructor(say: (line: string) => void, force: () => void) {
    this.stopped = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    this.stopped.catch(() => undefined);
    this.onSignal = (signal) => {
      this.signals++;
      if (this.signals > 1) {
        say(`\n${signal} again: forcing exit (the broker is killed; checkpoints may be incomplete)`);
        force();
        process.exit(130);
      }
      this.interrupted = true;
      say(`\n${signal}: stopping trainers, arbitrator and broker (press Ctrl-C again to force)...`);
      this.reject(
        new DemoError(
          'DEMO_INTERRUPTED',
          `interrupted by ${signal}; everything the demo started was stopped`,
        ),
      );
    };
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** A component's `done` promise: its rejection ends the demo. */
  watch(name: string, done: Promise<unknown>): void {
    done.catch((err: unknown) =>
      this.reject(
        new DemoError('DEMO_COMPONENT_FAILED', `${name} failed: ${errorMessage(err)}`, { cause: err }),
      ),
    );
  }

  /** Aborts when the guard stops (Ctrl-C or a failure), for work that checks a signal. */
  get signal(): AbortSignal {
    const ac = new AbortController();
    this.stopped.catch(() => ac.abort());
    return ac.signal;
  }

  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.stopped]);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/**
 * Resolves when `done()` holds; rejects with DEMO_STALLED when `progress()` did not change for
 * `stallMs` (checked every `everyMs`).
 */
export async function waitUntil(
  what: string,
  done: () => boolean,
  progress: () => number,
  stallMs: number,
  everyMs = 250,
): Promise<void> {
  let last = progress();
  let lastChange = Date.now();
  while (!done()) {
    await new Promise((r) => setTimeout(r, everyMs));
    const p = progress();
    if (p !== last) {
      last = p;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new DemoError(
        'DEMO_STALLED',
        `${what}: no progress for ${Math.round(stallMs / 1000)} s (see the demo log)`,
      );
    }
  }
}

/**
 * Scorer, trainers and their Kafka clients share one event loop in the demo: logs how long it was
 * blocked every 10 s (consumer heartbeats wait on it). Returns the stop function.
 */
export function watchEventLoop(log: Logger): () => void {
  const delay = monitorEventLoopDelay({ resolution: 50 });
  delay.enable();
  const timer = setInterval(() => {
    log.info(
      { maxMs: Math.round(delay.max / 1e6), p99Ms: Math.round(delay.percentile(99) / 1e6) },
      'demo: event loop delay (10 s)',
    );
    delay.reset();
  }, 10_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
