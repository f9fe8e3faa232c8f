import type { SoakResult } from '../soak.ts';
import { fmt, mdTable, sig } from './format.ts';

export function soakTable(
  r: Pick<SoakResult, 'verdict' | 'settings' | 'records' | 'drainRate' | 'latencyOverTime' | 'samples'>,
): string {
  const v = r.verdict;
  const { buckets, bucketSeconds } = r.latencyOverTime;
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const rows = [
    ['duration', `${r.settings.minutes} min`],
    [
      'input rate',
      `${sig(r.settings.rate)} records/s (${r.records} records; measured capacity ${sig(r.drainRate)} records/s)`,
    ],
    [
      'samples',
      `${r.samples.length}, every ${r.settings.intervalSeconds} s; verdict from t ≥ ${fmt(v.fromSecond, 0)} s`,
    ],
    [
      'live tensors (after warm-up)',
      v.tensorsMin === null
        ? '—'
        : `${v.tensorsMin} … ${v.tensorsMax} → ${v.tensorsFlat ? 'flat' : 'NOT flat'}`,
    ],
    ['RSS median', `${fmt(v.rssMedianMiB, 0)} MiB`],
    [
      'RSS slope',
      `${fmt(v.rssSlopeMiBPerMin, 2)} MiB/min (${fmt(v.rssGrowthMiB, 1)} MiB over the window) → ${v.rssFlat ? 'flat' : 'NOT flat'}`,
    ],
    [
      `latency p50 / p99, first ${bucketSeconds} s`,
      first === undefined ? '—' : `${fmt(first.p50, 0)} / ${fmt(first.p99, 0)} ms`,
    ],
    [
      `latency p50 / p99, last ${bucketSeconds} s`,
      last === undefined ? '—' : `${fmt(last.p50, 0)} / ${fmt(last.p99, 0)} ms`,
    ],
  ];
  return mdTable(['', 'value'], rows, ['l', 'l']);
}
