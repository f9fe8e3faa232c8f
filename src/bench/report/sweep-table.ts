import type { SweepResult } from '../scorer-sweep.ts';
import { fmt, mdTable, pct, ratio, sig } from './format.ts';

/** One line per configuration: each path's trajectories/s, tokens/s, GFLOP/s and share of the ceiling. */
export function sweepTable(r: Pick<SweepResult, 'rows' | 'ceiling'>): string {
  const headers = [
    'model',
    'B×T',
    'batched traj/s',
    'batched tok/s',
    'batched GFLOP/s',
    'batched % ceiling',
    'per-traj traj/s',
    'paper loop traj/s',
    'paper loop GFLOP/s',
    'train step tok/s',
    'train step GFLOP/s',
    'train % ceiling',
    'batched vs paper loop',
    'batched vs per-traj',
    'batched / train step',
  ];
  const rows = r.rows.map((row) => {
    const get = (name: string) => row.bench.rows.find((x) => x.name === name);
    const b = get('batched');
    const p = get('per-trajectory');
    const ref = get('reference');
    const t = get('train-step');
    return [
      `${row.preset} (${(row.bench.model.parameters / 1e6).toFixed(2)} M)`,
      `${row.batch}×${row.seq}`,
      sig(b?.trajectoriesPerSec),
      sig(b?.tokensPerSec),
      fmt(b?.gflopPerSec, 2),
      pct(row.ratios.ofCeiling?.batched ?? null),
      sig(p?.trajectoriesPerSec),
      sig(ref?.trajectoriesPerSec),
      fmt(ref?.gflopPerSec, 2),
      sig(t?.tokensPerSec),
      fmt(t?.gflopPerSec, 2),
      pct(row.ratios.ofCeiling?.['train-step'] ?? null),
      ratio(row.ratios.batchedVsReference),
      ratio(row.ratios.batchedVsPerTrajectory),
      ratio(row.ratios.batchedOverTrainStep),
    ];
  });
  return mdTable(
    headers,
    rows,
    headers.map((_, i) => (i < 2 ? 'l' : 'r')),
  );
}
