import type { ScorerBackendsResult } from '../scorer-backends.ts';
import { fmt, mdTable, ratio, sig } from './format.ts';

const ROW_LABEL: Record<string, string> = {
  batched: 'batched',
  'per-trajectory': 'per-traj',
  reference: 'paper loop',
  'train-step': 'train step',
};

/** One line per backend × row: wall/cpu ms, traj/s, tok/s, GFLOP/s; the auto row names the path it chose. */
export function backendsTable(r: Pick<ScorerBackendsResult, 'backends'>): string {
  const headers = [
    'backend',
    'threads',
    'row',
    'wall ms',
    'cpu ms',
    'traj/s',
    'tok/s',
    'GFLOP/s',
    'chosen vs paper loop',
  ];
  const rows = r.backends.flatMap(({ bench, threads }) =>
    bench.rows.map((row) => [
      `${bench.backend.kind}${bench.backend.simd !== undefined ? ` (simd ${bench.backend.simd})` : ''}`,
      String(threads),
      row.name === 'auto' ? `auto → ${row.path ?? '?'}` : (ROW_LABEL[row.name] ?? row.name),
      fmt(row.ms, 0),
      fmt(row.cpuMs, 0),
      sig(row.trajectoriesPerSec),
      sig(row.tokensPerSec),
      fmt(row.gflopPerSec, 2),
      row.name === 'auto'
        ? `${ratio(bench.speedupVsReference)} wall, ${ratio(bench.speedupVsReferenceCpu)} cpu`
        : '',
    ]),
  );
  return mdTable(
    headers,
    rows,
    headers.map((_, i) => (i === 0 || i === 2 ? 'l' : 'r')),
  );
}

/** "tensorflow over wasm: 5.10× wall, 2.40× cpu (batched path); over cpu: …", or '—'. */
export function backendsHeadline(r: Pick<ScorerBackendsResult, 'speedups'>): string {
  if (r.speedups.length === 0) return '— (needs tensorflow and at least one other backend in the run)';
  return r.speedups
    .map((s) => `over ${s.versus} ${ratio(s.wall)} wall, ${ratio(s.cpu)} cpu (${s.path} path)`)
    .join('; ');
}
