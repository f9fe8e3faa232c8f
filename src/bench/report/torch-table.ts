import type { TorchResult } from '../torch.ts';
import { fmt, mdTable, ratio, sig } from './format.ts';

export function torchTable(r: Pick<TorchResult, 'rows'>): string {
  const headers = [
    'model',
    'B×T',
    'threads',
    'PyTorch paper loop traj/s',
    'ours paper loop traj/s',
    'ours per-traj traj/s',
    'ours batched traj/s',
    'ours paper loop vs PyTorch',
    'ours batched vs PyTorch',
    'max rel. norm diff',
    'max loss diff',
  ];
  const rows = r.rows.map((row) => [
    `${row.preset} (${(row.parameters / 1e6).toFixed(2)} M)`,
    `${row.batch}×${row.seq}`,
    String(row.threads),
    sig(row.torch.trajectoriesPerSec),
    sig(row.ours.reference),
    sig(row.ours['per-trajectory']),
    sig(row.ours.batched),
    ratio(row.referenceVsTorch),
    ratio(row.batchedVsTorch),
    row.maxRelNormDiff.toExponential(1),
    row.maxAbsLossDiff.toExponential(1),
  ]);
  return mdTable(
    headers,
    rows,
    headers.map((_, i) => (i < 3 ? 'l' : 'r')),
  );
}

export function torchVersions(r: Pick<TorchResult, 'rows'>): string {
  const t = r.rows[0]?.torch;
  return t === undefined
    ? ''
    : `torch ${t.torch}, transformers ${t.transformers}, Python ${t.python}, ${t.attention} attention, fp32 on CPU, threads ${[...new Set(r.rows.map((x) => x.threads))].join(' and ')} on both sides (torch.set_num_threads / TF_NUM_INTRAOP_THREADS, interop 1); ${fmt(t.trajectories, 0)} timed trajectories per model and thread count`;
}
