import type { PipelineResult } from '../pipeline/run.ts';
import { fmt, mdTable, mib, ratio, sig } from './format.ts';

const LABEL: Record<string, string> = {
  plain: 'plain kafkajs transactional loop',
  noop: 'prism run, noop scorer',
  tiny: 'prism run, tiny model',
};

export function pipelineTable(r: Pick<PipelineResult, 'columns'>): string {
  const plain = r.columns.find((c) => c.name === 'plain')?.drain.recordsPerSec;
  const headers = [
    'column',
    'records/s (drain)',
    'vs plain loop',
    'latency load (rec/s)',
    'p50 e2e ms',
    'p99 e2e ms',
    'p50 / p99 ms (own metric)',
    'peak RSS',
    'steady RSS',
    'dup. outputs',
  ];
  const rows = r.columns.map((c) => [
    LABEL[c.name] ?? c.name,
    sig(c.drain.recordsPerSec),
    plain === undefined ? '—' : ratio(c.drain.recordsPerSec / plain),
    sig(c.latency.sentRate),
    fmt(c.latency.p50, 0),
    fmt(c.latency.p99, 0),
    c.metricLatency === null ? '—' : `${fmt(c.metricLatency.p50Ms, 0)} / ${fmt(c.metricLatency.p99Ms, 0)}`,
    mib(c.peakRssBytes),
    mib(c.steadyRssBytes),
    String(c.duplicateOutputs),
  ]);
  return mdTable(
    headers,
    rows,
    headers.map((_, i) => (i === 0 ? 'l' : 'r')),
  );
}
