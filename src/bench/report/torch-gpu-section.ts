import { fmt, mdTable, pct, ratio, sig } from './format.ts';

/**
 * BENCHMARKS.md's PyTorch-on-GPU section (issue 18), from torch_check.py's JSON
 * (scripts/gpu/torch_check.py; bench/results/gpu-torch*.json): the scorer service's batched
 * path vs the paper's per-trajectory loop per model × dtype × T, and the bf16-vs-fp32 agreement
 * rows. Pure: every figure comes from the document; rows that ran out of memory say "oom".
 */

export interface TorchGpuPath {
  status: string;
  seconds?: number;
  traj_per_s?: number;
  tokens_per_s?: number;
  peak_gpu_mib?: number;
  tflops?: number;
  fraction_of_peak?: number;
  forward_backward_passes?: number;
  oom_splits?: number;
}

export interface TorchGpuRow {
  model: string;
  dtype: string;
  T: number;
  B?: number;
  service?: TorchGpuPath;
  paper_loop?: TorchGpuPath;
  service_vs_loop_max_rel_diff?: number;
  speedup_service_vs_loop?: number;
}

export interface TorchGpuAgreement {
  model: string;
  T: number | string;
  trajectories: number;
  norm_rel_err_median?: number;
  norm_rel_err_max?: number;
  gini_abs_err_max?: number;
  gini_spearman?: number;
  gini_half_agreement?: number;
  max_T?: number;
}

export interface TorchGpuDoc {
  meta: {
    device?: string;
    started_utc?: string;
    torch?: string;
    transformers?: string;
    command?: string;
    torch_compile?: string;
    reference_peaks_tflops?: Record<string, number>;
    flop_convention?: string;
    projections?: string[];
  };
  rows: TorchGpuRow[];
  agreement?: TorchGpuAgreement[];
  errors?: unknown[];
}

const HEAD = '## 7. GPU: the PyTorch scorer service vs the paper’s loop (issue 18)';

function pathCells(p: TorchGpuPath | undefined, peak: number | undefined): string[] {
  if (p === undefined) return ['not run', '—', '—', '—', '—', '—'];
  if (p.status !== 'ok') return [p.status, '—', '—', '—', '—', '—'];
  const share = peak !== undefined && p.tflops !== undefined ? p.tflops / peak : p.fraction_of_peak;
  return [
    'ok',
    sig(p.traj_per_s),
    sig(p.tokens_per_s),
    p.peak_gpu_mib === undefined ? '—' : `${p.peak_gpu_mib.toFixed(0)} MiB`,
    fmt(p.tflops, 1),
    pct(share),
  ];
}

function rowsTable(d: TorchGpuDoc): string {
  const peaks = d.meta.reference_peaks_tflops ?? {};
  const rows = d.rows.flatMap((r) => {
    const head = [r.model, r.dtype, String(r.T), r.B === undefined ? '—' : String(r.B)];
    const peak = peaks[r.dtype];
    const svc = r.service?.status === 'ok' && r.paper_loop?.status === 'ok';
    return [
      [
        ...head,
        'service (batched)',
        ...pathCells(r.service, peak),
        svc ? ratio(r.speedup_service_vs_loop) : '—',
        svc && r.service_vs_loop_max_rel_diff !== undefined
          ? r.service_vs_loop_max_rel_diff.toExponential(1)
          : '—',
      ],
      [...head, 'paper loop', ...pathCells(r.paper_loop, peak), '', ''],
    ];
  });
  return mdTable(
    [
      'model',
      'dtype',
      'T',
      'B',
      'path',
      'status',
      'traj/s',
      'tokens/s',
      'peak GPU memory',
      'TFLOP/s',
      'of dtype peak',
      'service ÷ loop',
      'norms max rel diff',
    ],
    rows,
    ['l', 'l', 'r', 'r', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

function agreementTable(a: readonly TorchGpuAgreement[]): string {
  const e = (x: number | undefined): string => (x === undefined ? '—' : x.toExponential(1));
  const rows = a.map((x) => [
    x.model,
    typeof x.T === 'number' ? String(x.T) : `${x.T}${x.max_T === undefined ? '' : ` (max ${x.max_T})`}`,
    String(x.trajectories),
    e(x.norm_rel_err_median),
    e(x.norm_rel_err_max),
    e(x.gini_abs_err_max),
    fmt(x.gini_spearman, 3),
    pct(x.gini_half_agreement, 0),
  ]);
  return mdTable(
    [
      'model',
      'T',
      'trajectories',
      'norm rel err median',
      'norm rel err max',
      'gini abs err max',
      'gini Spearman',
      'same half (above/below median)',
    ],
    rows,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** The section; "" without a torch_check document. Deterministic for a given document. */
export function torchGpuSection(d: TorchGpuDoc | undefined): string {
  if (d === undefined) return '';
  const m = d.meta;
  const peaks = Object.entries(m.reference_peaks_tflops ?? {})
    .map(([k, v]) => `${k} ${v} TFLOP/s`)
    .join(', ');
  const parts = [
    HEAD,
    '',
    `Run ${m.started_utc ?? '?'} on ${m.device ?? '?'} (torch ${m.torch ?? '?'}, transformers ${m.transformers ?? '?'}, torch.compile ${m.torch_compile ?? '?'}): \`${m.command ?? 'scripts/gpu/torch_check.py'}\`, random-init Qwen-shaped models. Probe projections: ${(m.projections ?? []).join(', ') || '?'}. TFLOP/s counted with ${m.flop_convention ?? '?'}; share of the dense reference peaks (${peaks || 'not recorded'}) for the row's dtype. *service (batched)* = the scorer service's one probe pass per micro-batch, *paper loop* = one full backward per trajectory; *oom* = CUDA out of memory, not estimated. *norms max rel diff* = largest relative difference of the per-trajectory gradient norms between the two paths.`,
    '',
    rowsTable(d),
  ];
  if (d.agreement !== undefined && d.agreement.length > 0) {
    parts.push(
      '',
      'bf16 vs fp32 (service path, same weights and trajectories): relative error of the gradient norms, absolute error and rank correlation of the Gini scores, and the share of trajectories put on the same side of the median Gini.',
      '',
      agreementTable(d.agreement),
    );
  }
  const errors = d.errors ?? [];
  if (errors.length > 0) parts.push('', `Errors recorded by the run: ${errors.length} (see the JSON).`);
  return parts.join('\n');
}
