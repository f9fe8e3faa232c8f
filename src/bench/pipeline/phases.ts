import type { Producer } from 'kafkajs';
import type { LatencyObserver } from './observer.ts';
import { Workload, preload } from './workload.ts';

/** Keeps at most `max` evenly spaced elements. */
export function downsample<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const step = xs.length / max;
  return Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)]);
}

export interface WaitOptions {
  stallMs: number;
  /** Throws when the process under test has died. */
  check: () => void;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Warm-up: `n` records through a freshly started pipeline (start-up, JIT, the arbitration window's
 * warm-up hold, the scorer's path calibration), so later phases measure the steady state.
 */
export async function warmUp(
  producer: Producer,
  observer: LatencyObserver,
  workload: Workload,
  topic: string,
  n: number,
  prefix: string,
  w: WaitOptions,
): Promise<void> {
  const msgs = await workload.messages(prefix, n);
  await preload(producer, topic, msgs);
  const keys = msgs.map((m) => String(m.key));
  await observer.waitFor(keys, {
    stallMs: w.stallMs,
    check: w.check,
    onProgress: (d) => w.onProgress?.(d, keys.length),
  });
}

export interface DrainResult {
  records: number;
  /** First input append → last output visible. */
  seconds: number;
  recordsPerSec: number;
  /** Cumulative outputs: seconds since the first append → records (≤ 200 points). */
  timeline: { t: number; n: number }[];
}

/**
 * Throughput of a warm pipeline: a backlog of `n` records is appended as fast as the producer can
 * (the pipeline reads it as it arrives), and the rate is n / (last output visible − first input
 * appended).
 */
export async function drain(
  producer: Producer,
  observer: LatencyObserver,
  workload: Workload,
  topic: string,
  n: number,
  prefix: string,
  w: WaitOptions,
): Promise<DrainResult> {
  const msgs = await workload.messages(prefix, n);
  const keys = msgs.map((m) => String(m.key));
  await preload(producer, topic, msgs);
  await observer.waitFor(keys, {
    stallMs: w.stallMs,
    check: w.check,
    onProgress: (d) => w.onProgress?.(d, keys.length),
  });
  await observer.waitForInputs(keys);
  const appended = observer.appendTimes(keys);
  const first = appended.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const times = observer.outputTimes(keys).sort((a, b) => a - b);
  const seconds = (times[times.length - 1] - first) / 1000;
  return {
    records: keys.length,
    seconds,
    recordsPerSec: seconds > 0 ? keys.length / seconds : Number.NaN,
    timeline: downsample(
      times.map((t, i) => ({ t: (t - first) / 1000, n: i + 1 })),
      200,
    ),
  };
}
