/**
 * BENCHMARKS.md §9 from bench/results/profile-*.json (`prism bench profile`): where the scorer's
 * time goes next to one of PyTorch's two ways (its paper loop or its hook-based batched norms), one
 * summary row per profile and the full table of each.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { torchWayOf, type ProfileResult } from '../profile.ts';
import { profileTable, TORCH_WAY_LABEL } from '../profile-table.ts';

/** Every profile-*.json in `dir`, in file-name order (none when the folder is missing). */
export async function readProfileResults(dir: string): Promise<ProfileResult[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^profile-.*\.json$/.test(n)).sort();
  } catch {
    return [];
  }
  const out: ProfileResult[] = [];
  for (const n of names) out.push(JSON.parse(await readFile(join(dir, n), 'utf8')) as ProfileResult);
  return out;
}

const pct = (x: number | undefined): string => (x === undefined ? '—' : `${(100 * x).toFixed(0)} %`);

function summaryRow(r: ProfileResult): string {
  const phase = (name: string) => r.ours.profile.byPhase.find((p) => p.name === name)?.share;
  const top = (s: Pick<ProfileResult['ours'], 'profile'>) => s.profile.byOp[0];
  const oursTop = top(r.ours);
  const torchTop = top(r.torch);
  return (
    `| ${r.model.id} ${r.batch}×${r.seq} | ${r.ours.path ?? '?'} | ${TORCH_WAY_LABEL[torchWayOf(r)]} | ${r.speedVsTorch.toFixed(2)}× | ` +
    `${pct(phase('recompute'))} | ${pct(phase('backward'))} | ${pct(phase('forward'))} | ` +
    `${oursTop ? `${oursTop.name} ${pct(oursTop.share)}` : '—'} | ${torchTop ? `${torchTop.name} ${pct(torchTop.share)}` : '—'} | ` +
    `${r.meta.loadStart[0]} → ${r.meta.loadEnd[0]} |`
  );
}

/** The section's markdown; empty when there is no profile result. */
export function profileSection(results: readonly ProfileResult[]): string {
  if (results.length === 0) return '';
  const head = [
    '## 9. Where the time goes: `prism bench profile` (issue 14)',
    '',
    'Our tfjs scorer under `tf.profile`, tagged by scorer phase, next to one of PyTorch’s two ways to the',
    'same norms under `torch.profiler` (`--torch-way`: its paper loop, or its hook-based batched norms,',
    '`bench/pytorch/hooks_torch.py`), same model folder, ids and threads, in one run. Shares, not speeds:',
    'the wall ratio of a loaded two-core machine moves from run to run (see the load column); each row’s',
    'own notes say what the kernel times include.',
    '',
    '| model B×T | our path | PyTorch way | ours vs PyTorch (this run) | recompute | backward | forward | our top op | PyTorch top op | load 1 min (start → end) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(summaryRow),
  ];
  const details = results.flatMap((r) => [
    '',
    `### ${r.model.id} ${r.batch}×${r.seq}${torchWayOf(r) === 'loop' ? '' : ` vs PyTorch ${TORCH_WAY_LABEL[torchWayOf(r)]}`}`,
    '',
    `\`${r.meta.command}\` · ${r.meta.startedAt} · commit ${r.meta.commit} · ${r.meta.machine.cpuModel}, ${r.meta.machine.cores} cores`,
    '',
    profileTable(r, 8),
  ]);
  return [...head, ...details].join('\n');
}
