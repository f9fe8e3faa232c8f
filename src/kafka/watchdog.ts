import type { Kafka } from 'kafkajs';
import { BrokerError } from '../errors.ts';

export interface BrokerWatchdogOptions {
  /** ms epoch of the last successful broker request (0 = none yet). */
  readonly lastOkAt: () => number;
  /** Give up after this long without a broker response (kafka.unavailablePatienceMs). */
  readonly patienceMs: number;
  /** Called once when the patience runs out. */
  readonly onExpired: (err: BrokerError) => void;
  /**
   * Asks the broker directly (resolves when it answers) once the clients have been silent for a
   * while: a member that was evicted, or that is busy training, sends nothing for a long time
   * although the broker is fine. A broker that answers never expires the patience.
   */
  readonly probe?: () => Promise<unknown>;
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
 * Silence alone is not proof (issue 19: an evicted trainer whose steps took ~10 s heard nothing
 * for minutes from a healthy broker): with a `probe`, the broker is asked directly before that.
 */
export function startBrokerWatchdog(o: BrokerWatchdogOptions): BrokerWatchdog {
  const now = o.now ?? Date.now;
  const startedAt = now();
  const everyMs = o.everyMs ?? Math.min(1000, Math.max(10, Math.floor(o.patienceMs / 4)));
  // Probe once the clients have been silent for a quarter of the patience (at least 2 checks).
  const probeAfterMs = Math.max(everyMs * 2, Math.floor(o.patienceMs / 4));
  let fired = false;
  let probing = false;
  let lastProbeAt = 0;
  let probedOkAt = 0;
  const probe = (): void => {
    if (o.probe === undefined || probing || now() - lastProbeAt < probeAfterMs / 2) return;
    probing = true;
    lastProbeAt = now();
    o.probe()
      .then(() => {
        probedOkAt = now();
      })
      .catch(() => undefined) // unreachable: the patience keeps running
      .finally(() => {
        probing = false;
      });
  };
  const timer = setInterval(() => {
    if (fired) return;
    const since = Math.max(o.lastOkAt(), startedAt, probedOkAt);
    const silentMs = now() - since;
    if (silentMs > probeAfterMs) probe();
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
  }, everyMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
  };
}

/**
 * A watchdog probe: a short-lived admin client asks for the cluster metadata (no retries, so an
 * unreachable broker fails at once). Only runs while the process's own clients are silent.
 */
export function adminProbe(kafka: Kafka): () => Promise<void> {
  return async () => {
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
}
