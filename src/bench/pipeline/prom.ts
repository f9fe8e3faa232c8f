/**
 * Just enough of the Prometheus text format to read `prism run`'s /metrics in benchmarks: sums of
 * counters/gauges over their label sets, and histogram buckets with Prometheus'
 * histogram_quantile interpolation.
 */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const value = m[4] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[4]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of every sample named `name` (all label sets); undefined if there is none. */
export function sumOf(text: string, name: string): number | undefined {
  const s = parseSamples(text).filter((x) => x.name === name);
  return s.length === 0 ? undefined : s.reduce((a, b) => a + b.value, 0);
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, ending with +Inf. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/** Buckets of histogram `name`, summed over other labels. */
export function parseHistogram(text: string, name: string): Histogram | undefined {
  const samples = parseSamples(text);
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name === `${name}_bucket` && s.labels.le !== undefined) {
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
      found = true;
    } else if (s.name === `${name}_count`) count += s.value;
    else if (s.name === `${name}_sum`) sum += s.value;
  }
  if (!found) return undefined;
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
  return { buckets, count, sum };
}

/** after − before, bucket by bucket (the observations made between two scrapes). */
export function diffHistogram(after: Histogram, before: Histogram | undefined): Histogram {
  if (before === undefined) return after;
  const prev = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/**
 * Prometheus' histogram_quantile: find the bucket holding rank q·count and interpolate linearly
 * inside it (from 0 for the first bucket). A quantile in the +Inf bucket returns the largest
 * finite bound. NaN when the histogram is empty.
 */
export function histogramQuantile(q: number, h: Histogram): number {
  const total = h.buckets.length === 0 ? 0 : h.buckets[h.buckets.length - 1].count;
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** GET http://host:port/metrics (undefined when it does not answer). */
export async function scrape(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}
