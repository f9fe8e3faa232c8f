/**
 * Pure aggregation behind `prism bench profile`: op samples (tfjs kernels from `tf.profile`, PyTorch
 * ops from `torch.profiler`) → time by op name, by scorer phase and by category (FLOP-bearing matmul,
 * fused attention, everything else), plus the achieved matmul GFLOP/s. No I/O, no tfjs.
 */

/** One op's time: a single tfjs kernel call, or a PyTorch (phase, op) group with its call count. */
export interface OpSample {
  name: string;
  /** Scorer phase the op ran in (see profile-hooks.ts for tfjs, profile_torch.py for PyTorch). */
  phase: string;
  /** Self (exclusive) time, ms. */
  ms: number;
  calls: number;
  /** FLOPs of the op (matmuls; 0 when unknown). */
  flops: number;
}

/**
 * Op families comparable across both sides: FLOP-bearing matmuls, fused attention (PyTorch SDPA),
 * softmax/log-softmax (and their backward), layout (transposes, copies, concat, slices, gathers,
 * fills), elementwise maths and reductions, framework overhead (PyTorch autograd nodes and Python
 * between ops; on our side the wall time no kernel accounts for), other.
 */
export type OpCategory =
  'matmul' | 'attention' | 'softmax' | 'layout' | 'elementwise' | 'framework' | 'other';

const TFJS_MATMUL = new Set(['BatchMatMul', 'MatMul', '_FusedMatMul', 'Einsum']);
const TORCH_MATMUL = new Set(['aten::mm', 'aten::bmm', 'aten::addmm', 'aten::baddbmm', 'aten::addbmm']);
const TFJS_LAYOUT = new Set(
  (
    'Transpose Reshape Concat Slice StridedSlice Pad PadV2 GatherV2 GatherNd Tile Pack Unpack Identity Cast ' +
    'Fill ZerosLike OnesLike Reverse SplitV BroadcastTo ScatterNd TensorScatterUpdate OneHot Range Complex Real'
  ).split(' '),
);
const TORCH_LAYOUT =
  /^aten::(copy_|cat|transpose|t|view|reshape|contiguous|clone|slice|select|index|index_select|embedding.*|expand|permute|as_strided|_unsafe_view|empty.*|fill_|zero_|zeros|zeros_like|ones.*|stack|narrow|unsqueeze|squeeze|to|_to_copy|detach|resize_|new_.*|split|unbind|chunk|flatten|_reshape_alias|alias|lift_fresh|scalar_tensor|full|arange|scatter.*|gather|masked_fill_?)$/;
const TFJS_SOFTMAX = new Set(['Softmax', 'LogSoftmax']);
const TORCH_SOFTMAX = /^aten::_?(log_)?softmax(_backward_data)?$/;

export function opCategory(name: string): OpCategory {
  if (TFJS_MATMUL.has(name) || TORCH_MATMUL.has(name)) return 'matmul';
  if (/^aten::_(scaled_dot_product|flash_attention)/.test(name)) return 'attention';
  if (TFJS_SOFTMAX.has(name) || TORCH_SOFTMAX.test(name)) return 'softmax';
  if (TFJS_LAYOUT.has(name) || TORCH_LAYOUT.test(name)) return 'layout';
  if (name.startsWith('(') || name.startsWith('autograd::') || /Backward\d*$/.test(name)) return 'framework';
  if (name.startsWith('aten::') || /^[A-Z][A-Za-z0-9]*$/.test(name)) return 'elementwise';
  return 'other';
}

export interface Share {
  name: string;
  ms: number;
  /** Of the side's summed self time. */
  share: number;
  calls: number;
  category: OpCategory;
  /** Achieved GFLOP/s where the op carries FLOPs (matmuls), else null. */
  gflopPerSec: number | null;
}

export interface SideProfile {
  /** Summed self time of every sample, ms. */
  opMs: number;
  byOp: Share[];
  byPhase: Share[];
  /** By "phase · op". */
  byPhaseOp: Share[];
  byCategory: Share[];
  /** Matmul FLOPs / matmul time (GFLOP/s). */
  matmulGflopPerSec: number | null;
  /** Matmul FLOPs of everything profiled, GFLOP. */
  matmulGflop: number;
}

const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/**
 * FLOPs of a tfjs (batched) matmul from its recorded shapes (tf.profile keeps no attributes, so the
 * transposes are unknown): output [...batch, m, n]; A holds m·k elements per batch entry, so
 * k = |A| / (batch·m); FLOPs = 2·batch·m·n·k. 0 when the shapes do not fit a matmul.
 */
export function matmulFlops(
  inputShapes: ReadonlyArray<readonly number[] | null>,
  outputShape: readonly number[] | undefined,
): number {
  const a = inputShapes[0];
  if (a == null || outputShape === undefined || outputShape.length < 2 || a.length < 2) return 0;
  const m = outputShape[outputShape.length - 2];
  const n = outputShape[outputShape.length - 1];
  const batch = product(outputShape.slice(0, -2));
  if (m === 0 || batch === 0) return 0;
  const k = product(a) / (product(a.slice(0, -2)) * m);
  if (!Number.isFinite(k) || k <= 0) return 0;
  return 2 * batch * m * n * k;
}

/**
 * Self times from a post-order kernel list with nesting depths (a tfjs customGrad op is recorded
 * after the kernels its forward ran, at depth + 1, and its own time includes theirs): each entry's
 * time minus that of its direct children, clamped at 0, so the self times add up without double counting.
 */
export function selfTimes(records: ReadonlyArray<{ ms: number; depth: number }>): number[] {
  const acc: number[] = [];
  return records.map(({ ms, depth }) => {
    const children = acc[depth + 1] ?? 0;
    acc[depth + 1] = 0;
    acc[depth] = (acc[depth] ?? 0) + ms;
    return Math.max(0, ms - children);
  });
}

function group(samples: readonly OpSample[], key: (s: OpSample) => string, total: number): Share[] {
  const by = new Map<string, { ms: number; calls: number; flops: number; category: OpCategory }>();
  for (const s of samples) {
    const k = key(s);
    const g = by.get(k) ?? { ms: 0, calls: 0, flops: 0, category: opCategory(s.name) };
    g.ms += s.ms;
    g.calls += s.calls;
    g.flops += s.flops;
    // A group of mixed categories (a phase, say) is 'other' unless every member agrees.
    if (g.category !== opCategory(s.name)) g.category = 'other';
    by.set(k, g);
  }
  return [...by.entries()]
    .map(([name, g]) => ({
      name,
      ms: g.ms,
      share: total > 0 ? g.ms / total : 0,
      calls: g.calls,
      category: g.category,
      gflopPerSec: g.flops > 0 && g.ms > 0 ? g.flops / 1e6 / g.ms : null,
    }))
    .sort((x, y) => y.ms - x.ms || x.name.localeCompare(y.name));
}

export function summarise(samples: readonly OpSample[]): SideProfile {
  const opMs = samples.reduce((s, x) => s + x.ms, 0);
  const byCategory = group(samples, (s) => opCategory(s.name), opMs).map((c) => ({
    ...c,
    category: c.name as OpCategory,
  }));
  const matmul = byCategory.find((c) => c.name === 'matmul');
  return {
    opMs,
    byOp: group(samples, (s) => s.name, opMs),
    byPhase: group(samples, (s) => s.phase, opMs),
    byPhaseOp: group(samples, (s) => `${s.phase} · ${s.name}`, opMs),
    byCategory,
    matmulGflopPerSec: matmul?.gflopPerSec ?? null,
    matmulGflop: samples.reduce((a, x) => a + (opCategory(x.name) === 'matmul' ? x.flops : 0), 0) / 1e9,
  };
}

/** One side's wall time with its profile: the profile's shares scale to the unprofiled wall. */
export interface SideTiming {
  profile: SideProfile;
  /** Mean wall time per batch without a profiler. */
  wallMsPerBatch: number;
}

export interface GapRow {
  name: string;
  /** Share of the side's profiled time × its unprofiled wall time (an estimate per batch). */
  oursMs: number;
  torchMs: number;
  /** oursMs − torchMs: positive where we spend more. */
  deltaMs: number;
}

/**
 * Where the wall-time gap goes, family by family: each side's category shares (of its profiled time,
 * untracked time included when the caller added it as a sample) applied to its unprofiled wall time.
 * Sorted by how much more time we spend.
 */
export function gapByCategory(ours: SideTiming, torch: SideTiming): GapRow[] {
  const est = (s: SideTiming): Map<string, number> =>
    new Map(s.profile.byCategory.map((c) => [c.name, c.share * s.wallMsPerBatch]));
  const o = est(ours);
  const t = est(torch);
  return [...new Set([...o.keys(), ...t.keys()])]
    .map((name) => {
      const oursMs = o.get(name) ?? 0;
      const torchMs = t.get(name) ?? 0;
      return { name, oursMs, torchMs, deltaMs: oursMs - torchMs };
    })
    .sort((a, b) => b.deltaMs - a.deltaMs || a.name.localeCompare(b.name));
}
