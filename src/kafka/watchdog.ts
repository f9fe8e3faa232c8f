import { BrokerError } from '../errors.ts';

export interface BrokerWatchdogOptions {
  /** ms epoch of the last successful broker request (0 = none yet). */
  readonly lastOkAt: () => number;
  /** Give up after this long without a broker response (kafka.unavailablePatienceMs). */
  readonly patienceMs: number;
  /** Called once when the patience runs out. */
  readonly onExpired: (err: BrokerError) => void;
  /** Check cadence; default min(1 s, patience / 4). */
  readonly everyMs?: number;
  readonly now?: () => number;
}

export interface BrokerWatchdog {
  stop(): void;
}

/**
 * kafkajs reconnects forever with backoff (consumers restart after a retriable crash), so a broker
 * that never comes back would leave the process spinning and silently unready. This watchdog turns
 * "no broker response for patienceMs" into one typed, fatal error; shorter outages pass unnoticed.
 */
export function startBrokerWatchdog(o: BrokerWatchdogOptions): BrokerWatchdog {
  const now = o.now ?? Date.now;
  const startedAt = now();
  let fired = false;
  const timer = setInterval(
    () => {
      if (fired) return;
      const since = Math.max(o.lastOkAt(), startedAt);
      const silentMs = now() - since;
      if (silentMs <= o.patienceMs) return;
      fired = true;
      clearInterval(timer);
      o.onExpired(
        new BrokerError(
          'BROKER_UNAVAILABLE',
          `no Kafka broker response for ${Math.round(silentMs / 1000)} s (kafka.unavailablePatienceMs=${o.patienceMs}): ` +
            'giving up without committing in-flight work; restart once the brokers are back (uncommitted records are re-read)',
        ),
      );
    },
    o.everyMs ?? Math.min(1000, Math.max(10, Math.floor(o.patienceMs / 4))),
  );
  timer.unref();
  return {
    stop: () => clearInterval(timer),
  };
}
