import * as tf from '@tensorflow/tfjs';
import {
  PROJECTIONS_PER_LAYER,
  projectionShapes,
  type ProbeForwardOptions,
  type ProbeModel,
  type ProjectionShape,
} from './probe-model.ts';

/**
 * Per-example Frobenius norms of every projection's weight gradient.
 *
 * Batched path (`batchedProbeNorms`): one forward + backward for a whole micro-batch. A zero probe is
 * added to each projection output y = x·W; differentiating L = Σ_i L_i (sum of per-example mean losses)
 * w.r.t. the probes gives every example's own output gradient G_i = ∂L_i/∂y_i [T,out] (examples never
 * mix). The scorer never asks for a weight gradient, and says so (`frozenWeights`), so the model's wasm
 * `linear` customGrad skips forming the batch-summed dW too. With the captured inputs X_i [T,in] the norm is
 *   ghost:  ‖G_iᵀX_i‖²_F = Σ_{t,s} (G_i G_iᵀ)_{ts} (X_i X_iᵀ)_{ts}     ~2T²(in+out) FLOPs, T² memory
 *   outer:  ‖G_iᵀX_i‖²_F from the materialised [out,in] product         ~2T·in·out FLOPs, in·out memory
 * chosen per matrix shape (ghost iff T·(in+out) < in·out). Matrices that read the same input (q/k/v,
 * gate/up; sharedInputGroups) share its X Gram. Products are formed on the device or per example on the host
 * (SplitMode). Right padding is exact: with causal attention and a masked loss, padded positions have zero G rows, so they add nothing (they still cost FLOPs, so batches are trimmed
 * to their longest sequence by the packer).
 *
 * Per-trajectory path (`perTrajectoryNorms`): B=1, tf.variableGrads w.r.t. the projection weights only,
 * norms of those gradients. Reference (`referenceNorms`): the paper's method, a full backward w.r.t.
 * every weight of the model per trajectory, then the projection norms.
 *
 * Reads: every result leaves the device through `readFloat32` (`await t.data()`), never `dataSync()`, so
 * these functions are async and run on webgpu, which has no synchronous read in Node. No read happens
 * while a gradient tape is open (reads follow each `valueAndGrads`), so the maths is unchanged.
 */

export type NormMethod = 'ghost' | 'outer';
export type NormMethodSetting = NormMethod | 'auto';

/** Per-example loss [B] from logits [B,T,V] (the sequence module's masked mean cross-entropy). */
export type PerExampleLossFn = (logits: tf.Tensor3D) => tf.Tensor1D;

/**
 * The per-example loss two ways: from logits, and (optional) from the final hidden states and the
 * frozen LM head in chunks of positions (src/sequence/head-loss.ts), so that [B,T,V] logits never
 * exist at once. The chunked form is used whenever the model offers forwardHidden and nobody needs
 * the head's own gradient (batched and per-trajectory paths); the reference and the training step
 * differentiate w.r.t. every weight and use logits.
 */
export interface ProbeLoss {
  fromLogits: PerExampleLossFn;
  fromHidden?: (hidden: tf.Tensor3D, head: tf.Tensor2D) => tf.Tensor1D;
}

export type LossArg = PerExampleLossFn | ProbeLoss;

function asProbeLoss(loss: LossArg): ProbeLoss {
  return typeof loss === 'function' ? { fromLogits: loss } : loss;
}

/** One forward to the per-example loss, through the chunked head when the model and loss allow it. */
function forwardLoss(
  model: ProbeModel,
  inputIds: tf.Tensor2D,
  loss: LossArg,
  fopts: ProbeForwardOptions = {},
): { loss: tf.Tensor1D; projectionInputs?: tf.Tensor3D[] } {
  const l = asProbeLoss(loss);
  if (l.fromHidden !== undefined && model.forwardHidden !== undefined && model.headWeight !== undefined) {
    const out = model.forwardHidden(inputIds, fopts);
    return {
      loss: l.fromHidden(out.hidden, model.headWeight() as tf.Tensor2D),
      projectionInputs: out.projectionInputs,
    };
  }
  const out = model.forward(inputIds, fopts);
  return { loss: l.fromLogits(out.logits), projectionInputs: out.projectionInputs };
}

export interface NormsResult {
  /** One Float32Array of 7L norms per example, in batch order. */
  norms: Float32Array[];
  /** Per-example mean loss over target tokens. */
  losses: Float32Array;
}

/** FLOP-cheaper method for one matrix at sequence length T (see module doc). */
export function chooseNormMethod(
  T: number,
  shape: ProjectionShape,
  setting: NormMethodSetting = 'auto',
): NormMethod {
  if (setting !== 'auto') return setting;
  return T * (shape.in + shape.out) < shape.in * shape.out ? 'ghost' : 'outer';
}

function gram(a: tf.Tensor3D): tf.Tensor3D {
  return tf.matMul(a, a, false, true);
}

/**
 * Every read of a device tensor in the scorer goes through here: asynchronous (`await t.data()`), because
 * the webgpu backend has no synchronous read in Node. On the CPU backends it resolves to the same values.
 */
export async function readFloat32(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** Reads a [B, N+1] tensor (N norms then the loss per row) with a single device read. */
async function splitRows(packed: tf.Tensor2D): Promise<NormsResult> {
  const [B, W] = packed.shape;
  const data = await readFloat32(packed);
  const norms: Float32Array[] = [];
  const losses = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    norms.push(data.slice(b * W, b * W + W - 1));
    losses[b] = data[b * W + W - 1];
  }
  return { norms, losses };
}

/**
 * Where per-example products are formed:
 * - 'device': batched 3-D matMuls on the backend ([B,T,out]ᵀ[B,T,in]); best where batched GEMM is fast
 *   (tensorflow, GPU).
 * - 'host': each example's G_i/X_i rows are copied out and back as 2-D tensors, cut to the example's own
 *   length. On wasm, batched and transposed matMuls fall off XNNPACK to a ~2 GFLOP/s loop and
 *   slice/split copy the whole source per output, so this is ~4× faster there (measured: outer norms of
 *   16×128×(64→172) 5.4 ms host vs 20 ms device); on cpu it skips the padded rows.
 * - 'auto': host on wasm and cpu, device elsewhere.
 */
export type SplitMode = 'auto' | 'device' | 'host';

export interface BatchedOptions {
  normMethod?: NormMethodSetting;
  split?: SplitMode;
  /** Positions that matter per row (the packer's lengths); host split trims the rest. Default: all T. */
  lengths?: ArrayLike<number>;
}

export function useHostSplit(mode: SplitMode | undefined): boolean {
  if (mode === 'host') return true;
  if (mode === 'device') return false;
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu';
}

/**
 * Groups of projections that read the same input: per layer {q,k,v}, {o}, {gate,up}, {down} — the
 * Llama-family layout (llama, mistral, qwen2, qwen3). The model hands back one tensor per projection
 * (on wasm each is a copy), so sharing is declared here rather than detected from tensor identity.
 */
export function sharedInputGroups(n: number): number[][] {
  const groups: number[][] = [];
  for (let base = 0; base < n; base += PROJECTIONS_PER_LAYER) {
    groups.push([base, base + 1, base + 2], [base + 3], [base + 4, base + 5], [base + 6]);
  }
  return groups;
}

/** [B, N] squared norms from batched 3-D products on the device. */
export function deviceSquaredNorms(
  shapes: ProjectionShape[],
  grads: tf.Tensor[],
  inputs: tf.Tensor3D[],
  T: number,
  method: NormMethodSetting | undefined,
): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = new Array<tf.Tensor>(shapes.length);
    for (const group of sharedInputGroups(shapes.length)) {
      const x = inputs[group[0]];
      let xg: tf.Tensor3D | undefined; // one X Gram per group
      for (const j of group) {
        const g = grads[j] as tf.Tensor3D;
        if (chooseNormMethod(T, shapes[j], method) === 'outer') {
          sq[j] = tf.sum(tf.square(tf.matMul(g, x, true, false)), [1, 2]);
        } else {
          xg ??= gram(x);
          sq[j] = tf.sum(tf.mul(gram(g), xg), [1, 2]);
        }
      }
    }
    return tf.stack(sq, 1) as tf.Tensor2D;
  });
}

/**
 * [B, N] squared norms from per-example 2-D products on host-cut copies (see SplitMode). Each G is
 * transposed once on the device to [B,out,T]; per example, the `outer` members of an input group are
 * stacked into one [Σout, T_b] block and multiplied with X_b [T_b, in] in a single plain matMul, whose
 * row sums of squares are split back per matrix on the host. `ghost` members use G_bᵀ-blocks and the
 * group's X_b Gram.
 */
export async function hostSquaredNorms(
  shapes: ProjectionShape[],
  grads: tf.Tensor[],
  inputs: tf.Tensor3D[],
  B: number,
  T: number,
  lengths: ArrayLike<number> | undefined,
  method: NormMethodSetting | undefined,
): Promise<Float64Array> {
  const N = shapes.length;
  const out = new Float64Array(B * N);
  // Device results (row-sum vectors and ghost scalars) are collected and read with one sync at the end.
  const pending: Array<{ t: tf.Tensor; b: number; segments: Array<{ j: number; rows: number }> }> = [];
  try {
    for (const group of sharedInputGroups(N)) {
      const inF = shapes[group[0]].in;
      const xData = await readFloat32(inputs[group[0]]);
      const gT: Float32Array[] = [];
      for (const j of group) {
        const t = tf.transpose(grads[j], [0, 2, 1]);
        try {
          gT.push(await readFloat32(t));
        } finally {
          t.dispose();
        }
      }
      for (let b = 0; b < B; b++) {
        const Tb = Math.max(1, Math.min(T, lengths?.[b] ?? T));
        const outer = group.filter((j) => chooseNormMethod(Tb, shapes[j], method) === 'outer');
        const ghost = group.filter((j) => !outer.includes(j));
        // G_bᵀ rows [out, T_b] of member k, copied out of the [B,out,T] layout.
        const rowsOf = (k: number, dst: Float32Array, at: number): void => {
          const o = shapes[group[k]].out;
          const src = gT[k];
          for (let r = 0; r < o; r++)
            dst.set(src.subarray((b * o + r) * T, (b * o + r) * T + Tb), (at + r) * Tb);
        };
        tf.tidy(() => {
          const x = tf.tensor2d(xData.subarray(b * T * inF, (b * T + Tb) * inF), [Tb, inF]);
          if (outer.length > 0) {
            const rows = outer.reduce((n, j) => n + shapes[j].out, 0);
            const block = new Float32Array(rows * Tb);
            let at = 0;
            for (const j of outer) {
              rowsOf(group.indexOf(j), block, at);
              at += shapes[j].out;
            }
            const prod = tf.matMul(tf.tensor2d(block, [rows, Tb]), x);
            pending.push({
              t: tf.keep(tf.sum(tf.square(prod), 1)),
              b,
              segments: outer.map((j) => ({ j, rows: shapes[j].out })),
            });
          }
          if (ghost.length > 0) {
            const xg = tf.matMul(x, tf.transpose(x));
            for (const j of ghost) {
              const o = shapes[j].out;
              const buf = new Float32Array(o * Tb);
              rowsOf(group.indexOf(j), buf, 0);
              const gt = tf.tensor2d(buf, [o, Tb]);
              const gg = tf.matMul(tf.transpose(gt), gt); // G_b G_bᵀ [T_b, T_b]
              pending.push({
                t: tf.keep(tf.reshape(tf.sum(tf.mul(gg, xg)), [1])),
                b,
                segments: [{ j, rows: 1 }],
              });
            }
          }
        });
      }
    }
    const all = tf.tidy(() => tf.concat(pending.map((p) => p.t)));
    let values: Float32Array;
    try {
      values = await readFloat32(all);
    } finally {
      all.dispose();
    }
    let at = 0;
    for (const p of pending) {
      for (const seg of p.segments) {
        let s = 0;
        for (let r = 0; r < seg.rows; r++) s += values[at + r];
        out[p.b * N + seg.j] = s;
        at += seg.rows;
      }
    }
    return out;
  } finally {
    tf.dispose(pending.map((p) => p.t));
  }
}

export async function batchedProbeNorms(
  model: ProbeModel,
  inputIds: tf.Tensor2D,
  lossFn: LossArg,
  opts: BatchedOptions = {},
): Promise<NormsResult> {
  const [B, T] = inputIds.shape;
  const shapes = projectionShapes(model);
  const probes = shapes.map((s) => tf.zeros([B, T, s.out]));
  let inputs: tf.Tensor3D[] = [];
  let losses: tf.Tensor1D | undefined;
  let grads: tf.Tensor[] = [];
  let sq: tf.Tensor2D | undefined;
  let packed: tf.Tensor2D | undefined;
  try {
    const res = tf.valueAndGrads((...ps: tf.Tensor[]) => {
      const out = forwardLoss(model, inputIds, lossFn, {
        probes: ps,
        captureInputs: true,
        frozenWeights: true,
      });
      if (out.projectionInputs === undefined || out.projectionInputs.length !== shapes.length) {
        tf.dispose(out.projectionInputs ?? []);
        throw new Error(
          `model returned ${out.projectionInputs?.length ?? 0} projection inputs, expected ${shapes.length}`,
        );
      }
      // keep: these leave the gradient scope (the tape only disposes its own clones of saved tensors).
      inputs = out.projectionInputs.map((x) => tf.keep(x));
      losses = tf.keep(out.loss);
      return tf.sum(losses);
    })(probes);
    res.value.dispose();
    grads = res.grads;
    const lossT = losses as tf.Tensor1D;
    if (useHostSplit(opts.split)) {
      const sqHost = await hostSquaredNorms(shapes, grads, inputs, B, T, opts.lengths, opts.normMethod);
      const lossValues = await readFloat32(lossT);
      const N = shapes.length;
      return {
        norms: Array.from({ length: B }, (_, b) =>
          // Ghost sums can round to a tiny negative number; clamp before the square root.
          Float32Array.from(sqHost.subarray(b * N, (b + 1) * N), (v) => Math.sqrt(Math.max(v, 0))),
        ),
        losses: Float32Array.from(lossValues),
      };
    }
    sq = deviceSquaredNorms(shapes, grads, inputs, T, opts.normMethod);
    const sqT = sq;
    // Ghost sums can round to a tiny negative number; clamp before the square root.
    packed = tf.tidy(() => tf.concat([tf.sqrt(tf.relu(sqT)), tf.reshape(lossT, [B, 1])], 1) as tf.Tensor2D);
    return await splitRows(packed);
  } finally {
    tf.dispose(probes);
    tf.dispose(grads);
    tf.dispose(inputs);
    for (const t of [losses, sq, packed]) t?.dispose();
  }
}

async function weightGradNorms(
  model: ProbeModel,
  inputIds: tf.Tensor2D,
  lossFn: LossArg,
  varList: tf.Variable[],
): Promise<NormsResult> {
  const projections = model.projectionWeights();
  let packed: tf.Tensor2D | undefined;
  try {
    packed = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(forwardLoss(model, inputIds, lossFn).loss) as tf.Scalar,
        varList,
      );
      const norms = projections.map((w) => {
        const g = grads[w.name];
        if (g === undefined) throw new Error(`no gradient for projection weight ${w.name}`);
        return tf.sqrt(tf.sum(tf.square(g)));
      });
      return tf
        .concat([tf.stack(norms), tf.reshape(value, [1])])
        .reshape([1, norms.length + 1]) as tf.Tensor2D;
    });
    return await splitRows(packed);
  } finally {
    if (packed !== undefined) packed.dispose();
  }
}

/** One trajectory ([1,T] ids): gradients w.r.t. the 7L projection weights only. */
export async function perTrajectoryNorms(
  model: ProbeModel,
  inputIds: tf.Tensor2D,
  lossFn: LossArg,
): Promise<NormsResult> {
  if (inputIds.shape[0] !== 1)
    throw new Error(`perTrajectoryNorms needs batch size 1, got ${inputIds.shape[0]}`);
  return weightGradNorms(model, inputIds, lossFn, model.projectionWeights());
}

/** The paper's method: one full backward (every trainable weight) per trajectory; keeps the projection norms. */
export async function referenceNorms(
  model: ProbeModel,
  inputIds: tf.Tensor2D,
  lossFn: LossArg,
): Promise<NormsResult> {
  if (inputIds.shape[0] !== 1) throw new Error(`referenceNorms needs batch size 1, got ${inputIds.shape[0]}`);
  const all = [...model.namedWeights().values()].filter((v) => v.trainable);
  // Every weight, the LM head included: the logits path (the chunked head is frozen).
  return weightGradNorms(model, inputIds, asProbeLoss(lossFn).fromLogits, all);
}

/** One plain training step's compute (fwd + bwd, every weight gradient, no optimizer) — the bench's yardstick. */
export async function trainingStepGrads(
  model: ProbeModel,
  inputIds: tf.Tensor2D,
  lossFn: PerExampleLossFn,
): Promise<number> {
  const all = [...model.namedWeights().values()].filter((v) => v.trainable);
  let loss: tf.Tensor | undefined;
  try {
    loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(lossFn(model.forward(inputIds).logits)) as tf.Scalar,
        all,
      );
      // Force every gradient to be computed before the step is timed as done.
      return tf.addN([value, ...Object.values(grads).map((g) => tf.mul(tf.sum(g), 0))]);
    });
    return (await readFloat32(loss))[0];
  } finally {
    if (loss !== undefined) loss.dispose();
  }
}
