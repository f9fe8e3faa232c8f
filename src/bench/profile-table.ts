/** The short human-readable summary of a `prism bench profile` result (pure). */
import type { Share } from './profile-aggregate.ts';
import { torchWayOf, type ProfileResult, type ProfileSide } from './profile.ts';

/** How a table names PyTorch's side. */
export const TORCH_WAY_LABEL = { loop: 'paper loop', hooks: 'hooks (batched)' } as const;

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const ms = (x: number): string => x.toFixed(1);

function shareList(rows: readonly Share[], n: number): string {
  return rows
    .slice(0, n)
    .map((r) => `${r.name} ${pct(r.share)}`)
    .join(' · ');
}

function topOps(r: ProfileResult, n: number): string[] {
  const a = r.ours.profile.byOp;
  const b = r.torch.profile.byOp;
  const cell = (s: Share | undefined): string =>
    s === undefined
      ? ' | | | '
      : `${s.name} | ${pct(s.share)} | ${s.calls} | ${s.gflopPerSec === null ? '' : s.gflopPerSec.toFixed(1)}`;
  const lines = [
    '| # | ours (tfjs kernel) | share | calls | GFLOP/s | PyTorch (aten op) | share | calls | GFLOP/s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (let i = 0; i < Math.min(n, Math.max(a.length, b.length)); i++)
    lines.push(`| ${i + 1} | ${cell(a[i])} | ${cell(b[i])} |`);
  return lines;
}

export function profileTable(r: ProfileResult, top = 12): string {
  const mm = (s: ProfileSide): string => {
    const m = s.profile.byCategory.find((c) => c.name === 'matmul');
    const perBatch = s.profile.matmulGflop / s.profiledBatches;
    return `${pct(m?.share ?? 0)} · ${perBatch.toFixed(2)} GFLOP/batch at ${s.profile.matmulGflopPerSec?.toFixed(1) ?? '—'} GFLOP/s`;
  };
  const head = [
    `profile · ${r.model.id} (${(r.model.parameters / 1e6).toFixed(2)} M params, ${r.model.layers} layers, d ${r.model.hidden}, vocab ${r.model.vocab}) · B×T ${r.batch}×${r.seq} · ${r.threads} thread(s) · load ${r.meta.loadStart.join('/')} → ${r.meta.loadEnd.join('/')}`,
    '',
    '| side | wall ms/batch (unprofiled) | profiled wall ms | matmul: share · work · achieved | phases |',
    '|---|---|---|---|---|',
    `| ours: ${r.ours.backend.kind}, ${r.ours.path ?? '?'} path | ${ms(r.ours.wallMsPerBatch)} | ${ms(r.ours.profiledWallMs)} | ${mm(r.ours)} | ${shareList(r.ours.profile.byPhase, 8)} |`,
    `| PyTorch ${r.torch.torch}: ${TORCH_WAY_LABEL[torchWayOf(r)]} | ${ms(r.torch.wallMsPerBatch)} | ${ms(r.torch.profiledWallMs)} | ${mm(r.torch)} | ${shareList(r.torch.profile.byPhase, 5)} |`,
    '',
    `ours vs PyTorch, this run: ${r.speedVsTorch.toFixed(2)}× (PyTorch wall / ours)`,
    '',
    '| op family | ours ms/batch (est.) | PyTorch ms/batch (est.) | ours − PyTorch |',
    '|---|---|---|---|',
    ...r.gap.map(
      (g) =>
        `| ${g.name} | ${ms(g.oursMs)} | ${ms(g.torchMs)} | ${g.deltaMs >= 0 ? '+' : ''}${ms(g.deltaMs)} |`,
    ),
    '',
  ];
  return [...head, ...topOps(r, top)].join('\n');
}
