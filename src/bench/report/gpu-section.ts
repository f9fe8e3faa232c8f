import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GpuCheckResult } from '../../backend/gpucheck/result.ts';
import { fmt, mdTable, pct, ratio, sig } from './format.ts';
import type { TorchGpuDoc, TorchGpuPath } from './torch-gpu-section.ts';

/**
 * BENCHMARKS.md's GPU section, from bench/results/gpu-*.json: the webgpu check written by
 * `bash scripts/gpu/run` (kind "gpu-webgpu") and, when present, issue 18's torch_check.py output
 * (PyTorch on the same GPU; copied as bench/results/gpu-torch.json). Without a webgpu result the
 * section says the GPU figures are not yet measured; nothing is ever filled in by hand.
 */

type TorchPath = TorchGpuPath;
/** torch_check.py's document (issue 18); its own section is rendered by torch-gpu-section.ts. */
export type TorchCheckDoc = TorchGpuDoc;

export interface GpuResults {
  webgpu?: GpuCheckResult;
  torch?: TorchCheckDoc;
}

/** Reads every bench/results/gpu-*.json and sorts them by what they contain. */
export async function readGpuResults(dir: string): Promise<GpuResults> {
  const out: GpuResults = {};
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^gpu-.*\.json$/.test(n)).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    const doc = JSON.parse(await readFile(join(dir, n), 'utf8')) as Record<string, unknown>;
    if (doc.kind === 'gpu-webgpu') out.webgpu = doc as unknown as GpuCheckResult;
    else if (typeof doc.meta === 'object' && Array.isArray(doc.rows))
      out.torch = doc as unknown as TorchCheckDoc;
  }
  return out;
}

/** Our models whose shape is exactly one of torch_check.py's (scripts/gpu/make_models.py). */
const TORCH_SAME_SHAPE: Record<string, string> = { 'm500-qwen2': '0.5B' };
const TORCH_PATH: Record<string, 'service' | 'paper_loop' | undefined> = {
  batched: 'service',
  reference: 'paper_loop',
};

function torchFor(
  t: TorchCheckDoc | undefined,
  model: string,
  seq: number,
  path: string,
): TorchPath | undefined {
  const name = TORCH_SAME_SHAPE[model];
  const p = TORCH_PATH[path];
  if (t === undefined || name === undefined || p === undefined) return undefined;
  const row = t.rows.find((r) => r.model === name && r.dtype === 'fp32' && r.T === seq);
  const side = row?.[p];
  return side?.status === 'ok' ? side : undefined;
}

const HEAD = '## 6. GPU: webgpu (tfjs on Dawn/Vulkan) vs PyTorch on the same GPU';

function agreementTable(r: GpuCheckResult): string {
  const rows = r.agreement.map((a) => {
    const worst = (k: string): string =>
      a.maxRelErr === null
        ? '—'
        : Math.max(a.maxRelErr.batched[k] ?? 0, a.maxRelErr.perTrajectory[k] ?? 0).toExponential(1);
    return [
      a.name,
      `${a.batch} × ${a.seq}`,
      worst('norms'),
      worst('loss'),
      worst('gini'),
      a.error ?? (a.pass ? 'pass' : 'FAIL'),
    ];
  });
  return mdTable(['model', 'B × T', 'norms', 'loss', 'gini', 'within 1e-4'], rows, [
    'l',
    'r',
    'r',
    'r',
    'r',
    'l',
  ]);
}

function rowsTable(r: GpuCheckResult, torch: TorchCheckDoc | undefined): string {
  const rows = r.rows.map((x) => {
    const t = torchFor(torch, x.model, x.seq, x.path);
    const vs =
      t?.traj_per_s !== undefined && x.trajectoriesPerSec !== undefined
        ? x.trajectoriesPerSec / t.traj_per_s
        : undefined;
    return [
      x.model,
      x.parameters > 0 ? sig(x.parameters / 1e6) : '—',
      String(x.seq),
      String(x.batch),
      x.path,
      sig(x.trajectoriesPerSec),
      sig(x.tokensPerSec),
      fmt(x.tflopPerSec, 2),
      pct(x.ofFp32Peak),
      sig(t?.traj_per_s),
      ratio(vs),
      x.status,
    ];
  });
  return mdTable(
    [
      'model',
      'M params',
      'T',
      'B',
      'path',
      'traj/s',
      'tokens/s',
      'TFLOP/s',
      'of fp32 peak',
      'PyTorch traj/s',
      'webgpu ÷ PyTorch',
      'status',
    ],
    rows,
    ['l', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  );
}

/** The section; deterministic for given inputs. */
export function gpuSection(g: GpuResults): string {
  const r = g.webgpu;
  const how =
    "Made by `bash scripts/gpu/stage` here and `bash scripts/gpu/run` on the GPU host ([scripts/gpu/README.md](scripts/gpu/README.md)); copy `$OUT/gpu-webgpu.json` (and torch_check.py's `torch_check.json` as `gpu-torch.json`) to `bench/results/`, then `prism bench report`.";
  if (r === undefined) {
    const torchNote =
      g.torch === undefined ? '' : ' The PyTorch run on the GPU (torch_check.py) is reported in section 7.';
    return `${HEAD}\n\n**GPU figures are not yet measured**: there is no \`bench/results/gpu-webgpu.json\`.${torchNote} ${how}`;
  }
  if (r.status === 'no-gpu' || r.backend === undefined)
    return `${HEAD}\n\n**GPU figures are not yet measured**: the GPU check of ${r.startedAt} found no usable GPU adapter (${r.reason ?? 'no reason recorded'}). ${how}`;
  const a = r.backend.adapter;
  const adapter =
    a === undefined
      ? 'adapter not recorded'
      : [a.vendor, a.architecture, a.device, a.description].filter((s) => s !== '').join(' · ');
  const torchLine =
    g.torch === undefined
      ? 'No PyTorch result (gpu-torch.json) was found: the PyTorch columns are empty.'
      : `PyTorch: ${g.torch.meta.device ?? '?'}, torch ${g.torch.meta.torch ?? '?'}, ${g.torch.meta.started_utc ?? '?'}; compared only where the model shape, T and fp32 match (m500-qwen2 = torch_check's 0.5B, Qwen2.5-0.5B shape): batched ↔ the service's batched path, reference ↔ the paper loop. Random weights differ between the two (different seeds and initialisers); speed does not depend on them.`;
  return [
    HEAD,
    '',
    `Run ${r.startedAt} → ${r.finishedAt ?? '(did not finish)'} (status ${r.status}), webgpu budget ${r.budgetS} s, Node ${r.node}. Adapter: ${adapter}.`,
    '',
    `Backend agreement (webgpu vs the CPU scores carried from the stage machine, max relative error over both paths):`,
    '',
    agreementTable(r),
    '',
    `Scorer rows (B trajectories of T scored tokens; TFLOP/s from the repository's FLOP model; fp32 peak ${r.peakFp32Tflops} TFLOP/s, ${r.peakSource}). *batched* = one probe pass per micro-batch, *per-trajectory* = B = 1 passes with projection weight gradients, *reference* = the paper's loop (a full backward per trajectory). Rows the time budget did not reach say so; none is estimated.`,
    '',
    rowsTable(r, g.torch),
    '',
    torchLine,
  ].join('\n');
}
