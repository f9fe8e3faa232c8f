/**
 * BENCHMARKS §10 from bench/results/torch-grid.json (`prism bench torch --model DIR …`): our scorer vs
 * PyTorch's paper loop per model and shape, peak RSS both sides, each row with the run it came from.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RunMeta } from '../machine.ts';
import { gridTable, type GridRow } from '../torch-grid.ts';

export interface TorchGridDoc {
  kind: string;
  rows: Array<GridRow & { meta?: RunMeta }>;
}

/** bench/results/torch-grid.json, or undefined when it does not exist. */
export async function readTorchGrid(dir: string): Promise<TorchGridDoc | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'torch-grid.json'), 'utf8');
  } catch {
    return undefined;
  }
  const doc = JSON.parse(text) as Partial<TorchGridDoc>;
  return Array.isArray(doc.rows) ? { kind: String(doc.kind), rows: doc.rows } : undefined;
}

function provenance(r: GridRow & { meta?: RunMeta }): string {
  const m = r.meta;
  if (m === undefined) return `- ${basename(r.model)} ${r.batch}×${r.seq}: no run metadata recorded`;
  return (
    `- ${basename(r.model)} ${r.batch}×${r.seq}: \`${m.command}\` · ${m.startedAt} · commit ${m.commit} · ` +
    `load ${m.loadStart.join('/')} → ${m.loadEnd.join('/')}`
  );
}

/** The section's markdown; empty when there is no grid result. */
export function torchGridSection(doc: TorchGridDoc | undefined): string {
  if (doc === undefined || doc.rows.length === 0) return '';
  return [
    '## 10. PyTorch grid: memory and speed per model and shape (issue 14)',
    '',
    'Our scorer in its default configuration (path chosen by `auto`) vs PyTorch’s paper loop (transformers,',
    'sdpa), same HF folder, token ids and thread count, a fresh child process per configuration and side,',
    '`OMP_WAIT_POLICY=PASSIVE`; speed is ours / PyTorch in trajectories per second, RSS the peak of each child.',
    'Models: tiny and small from `prism model init --preset tiny|small`; m60 (~60 M Llama) and q05b (Qwen2-0.5B',
    'shape) random-init folders written by transformers (`python3 bench/pytorch/make_random_model.py m60|q05b DIR`).',
    'Rows measured at different times or loads are not comparable with each other;',
    'each row’s two sides ran back to back in one command (provenance below).',
    '',
    gridTable(doc.rows),
    '',
    ...doc.rows.map(provenance),
  ].join('\n');
}
