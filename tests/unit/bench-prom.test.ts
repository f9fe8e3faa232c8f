import { describe, expect, it } from 'vitest';
import { diffHistogram, histogramQuantile, parseHistogram, sumOf } from '../../src/bench/pipeline/prom.ts';
import { parseProcStatus } from '../../src/bench/pipeline/proc.ts';

const METRICS = `# HELP prism_end_to_end_seconds Input record timestamp to commit of its output
# TYPE prism_end_to_end_seconds histogram
prism_end_to_end_seconds_bucket{le="0.1"} 10
prism_end_to_end_seconds_bucket{le="0.5"} 60
prism_end_to_end_seconds_bucket{le="1"} 90
prism_end_to_end_seconds_bucket{le="+Inf"} 100
prism_end_to_end_seconds_sum 42.5
prism_end_to_end_seconds_count 100
# TYPE prism_records_out_total counter
prism_records_out_total{route="SFT"} 7
prism_records_out_total{route="RL"} 5
prism_tfjs_tensors 123
`;

describe('Prometheus text parsing for bench scrapes', () => {
  it('sums a metric over its label sets', () => {
    expect(sumOf(METRICS, 'prism_records_out_total')).toBe(12);
    expect(sumOf(METRICS, 'prism_tfjs_tensors')).toBe(123);
    expect(sumOf(METRICS, 'absent_metric')).toBeUndefined();
  });

  it('reads histogram buckets in ascending order with +Inf last', () => {
    const h = parseHistogram(METRICS, 'prism_end_to_end_seconds');
    expect(h?.buckets.map((b) => b.le)).toEqual([0.1, 0.5, 1, Number.POSITIVE_INFINITY]);
    expect(h?.count).toBe(100);
    expect(h?.sum).toBe(42.5);
  });

  it('interpolates quantiles inside the bucket like histogram_quantile', () => {
    const h = parseHistogram(METRICS, 'prism_end_to_end_seconds');
    if (h === undefined) throw new Error('histogram not parsed');
    expect(histogramQuantile(0.05, h)).toBeCloseTo(0.05, 12); // rank 5 of 10 in [0, 0.1]
    expect(histogramQuantile(0.5, h)).toBeCloseTo(0.1 + 0.4 * (40 / 50), 12); // rank 50 in (0.1, 0.5]
    expect(histogramQuantile(0.99, h)).toBe(1); // rank 99 is in +Inf: the largest finite bound
  });

  it('subtracts an earlier scrape bucket by bucket', () => {
    const before = parseHistogram(METRICS, 'prism_end_to_end_seconds');
    const after = parseHistogram(
      METRICS.replace('le="+Inf"} 100', 'le="+Inf"} 130')
        .replace('le="1"} 90', 'le="1"} 120')
        .replace('_count 100', '_count 130'),
      'prism_end_to_end_seconds',
    );
    if (after === undefined) throw new Error('histogram not parsed');
    const d = diffHistogram(after, before);
    expect(d.buckets.map((b) => b.count)).toEqual([0, 0, 30, 30]);
    expect(d.count).toBe(30);
    expect(histogramQuantile(0.5, d)).toBeCloseTo(0.75, 12);
  });

  it('gives NaN for an empty histogram', () => {
    expect(
      histogramQuantile(0.5, { buckets: [{ le: Number.POSITIVE_INFINITY, count: 0 }], count: 0, sum: 0 }),
    ).toBeNaN();
  });
});

describe('parseProcStatus', () => {
  it('reads VmRSS and VmHWM in bytes', () => {
    const text = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n';
    expect(parseProcStatus(text)).toEqual({ rssBytes: 1024 * 1024, hwmBytes: 2048 * 1024 });
  });

  it('returns undefined when the lines are missing (a kernel thread or another OS)', () => {
    expect(parseProcStatus('Name:\tkthreadd\n')).toBeUndefined();
  });
});
