import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge } from 'prom-client';

export interface EventLoopDelayMetric {
  /** `prism_event_loop_delay_seconds{quantile="0.5"|"0.99"|"1"}` over the interval since the last scrape. */
  readonly gauge: Gauge<'quantile'>;
  /** Stops sampling. */
  stop(): void;
}

/** Reads p50, p99 and max of a histogram (nanoseconds) as seconds; 0 when it has no samples yet. */
export function delayQuantiles(h: Pick<IntervalHistogram, 'count' | 'percentile' | 'max'>): {
  p50: number;
  p99: number;
  max: number;
} {
  if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
  return { p50: h.percentile(50) / 1e9, p99: h.percentile(99) / 1e9, max: h.max / 1e9 };
}

/**
 * The main thread's event-loop delay (perf_hooks.monitorEventLoopDelay, 10 ms resolution) as a
 * Prometheus gauge. Each scrape reports the delays seen since the previous scrape, then resets, so a
 * stall while scoring shows up in the next scrape instead of being averaged away.
 */
export function eventLoopDelayMetric(name = 'prism_event_loop_delay_seconds'): EventLoopDelayMetric {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const gauge = new Gauge({
    name,
    help: 'Event-loop delay of the main thread since the previous scrape (quantile 1 = max)',
    labelNames: ['quantile'] as const,
    registers: [],
    collect() {
      const q = delayQuantiles(h);
      this.set({ quantile: '0.5' }, q.p50);
      this.set({ quantile: '0.99' }, q.p99);
      this.set({ quantile: '1' }, q.max);
      h.reset();
    },
  });
  return { gauge, stop: () => h.disable() };
}
