import * as tf from '@tensorflow/tfjs';
import { perExampleLoss } from '../../sequence/loss.ts';
import { chooseNormMethod, sharedInputGroups } from '../../scorer/norms.ts';
import { projectionShapes, type ProbeModel, type ProjectionShape } from '../../scorer/probe-model.ts';

/**
 * PRISM per-example projection-gradient norms with ASYNCHRONOUS reads only (`await t.data()`), for the
 * webgpu backend, which has no synchronous read in Node (see ../webgpu.ts). Same mathematics as
 * src/scorer/norms.ts (the product scorer, which reads with dataSync): probes on every projection
 * output, per-example output gradients G_i, and ‖G_iᵀX_i‖²_F by the ghost identity or the materialised
 * product, chosen per matrix with the scorer's own chooseNormMethod. The GPU check cross-checks this
 * module against the product scorer on the CPU (stage) before trusting it on the GPU.
 */

export interface AsyncNorms {
  /** One 7L vector per example. */
  norms: Float32Array[];
  losses: Float32Array;
}

export interface Rows {
  inputIds: tf.Tensor2D;
  targetIds: tf.Tensor2D;
  targetMask: tf.Tensor2D;
}

async function readRows(packed: tf.Tensor2D): Promise<AsyncNorms> {
  const [B, W] = packed.shape;
  const data = (await packed.data()) as Float32Array;
  const norms: Float32Array[] = [];
  const losses = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    norms.push(data.slice(b * W, b * W + W - 1));
    losses[b] = data[b * W + W - 1];
  }
  return { norms, losses };
}

function squaredNorms(
  shapes: ProjectionShape[],
  grads: tf.Tensor[],
  inputs: tf.Tensor3D[],
  T: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = new Array<tf.Tensor>(shapes.length);
    for (const group of sharedInputGroups(shapes.length)) {
      const x = inputs[group[0]];
      let xg: tf.Tensor3D | undefined;
      for (const j of group) {
        const g = grads[j] as tf.Tensor3D;
        if (chooseNormMethod(T, shapes[j]) === 'outer') {
          sq[j] = tf.sum(tf.square(tf.matMul(g, x, true, false)), [1, 2]);
        } else {
          const gx: tf.Tensor = xg ?? tf.matMul(x, x, false, true);
          xg = gx as tf.Tensor3D;
          sq[j] = tf.sum(tf.mul(tf.matMul(g, g, false, true), gx), [1, 2]);
        }
      }
    }
    return tf.stack(sq, 1) as tf.Tensor2D;
  });
}

/** One batched probe pass over all rows of `r` (the caller chunks the batch to bound memory). */
export async function batchedNormsAsync(model: ProbeModel, r: Rows): Promise<AsyncNorms> {
  const [B, T] = r.inputIds.shape;
  const shapes = projectionShapes(model);
  const probes = shapes.map((s) => tf.zeros([B, T, s.out]));
  let inputs: tf.Tensor3D[] = [];
  let losses: tf.Tensor1D | undefined;
  let grads: tf.Tensor[] = [];
  let packed: tf.Tensor2D | undefined;
  try {
    const res = tf.valueAndGrads((...ps: tf.Tensor[]) => {
      const out = model.forward(r.inputIds, { probes: ps, captureInputs: true, frozenWeights: true });
      inputs = (out.projectionInputs ?? []).map((x) => tf.keep(x));
      if (inputs.length !== shapes.length)
        throw new Error(`model returned ${inputs.length} projection inputs`);
      losses = tf.keep(perExampleLoss(out.logits, r.targetIds, r.targetMask));
      return tf.sum(losses);
    })(probes);
    res.value.dispose();
    grads = res.grads;
    const lossT = losses as tf.Tensor1D;
    const sq = squaredNorms(shapes, grads, inputs, T);
    packed = tf.tidy(() => tf.concat([tf.sqrt(tf.relu(sq)), tf.reshape(lossT, [B, 1])], 1) as tf.Tensor2D);
    sq.dispose();
    return await readRows(packed);
  } finally {
    tf.dispose([...probes, ...grads, ...inputs]);
    for (const t of [losses, packed]) t?.dispose();
  }
}

/**
 * One trajectory ([1,T]): weight gradients w.r.t. `varList` (the 7L projections: per-trajectory path;
 * every trainable weight: the paper's loop), then the projection norms.
 */
export async function weightNormsAsync(model: ProbeModel, r: Rows, all: boolean): Promise<AsyncNorms> {
  const projections = model.projectionWeights();
  const varList = all ? [...model.namedWeights().values()].filter((v) => v.trainable) : projections;
  const packed = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.sum(perExampleLoss(model.forward(r.inputIds).logits, r.targetIds, r.targetMask)) as tf.Scalar,
      varList,
    );
    const norms = projections.map((w) => tf.sqrt(tf.sum(tf.square(grads[w.name]))));
    // The paper's loop forms every weight gradient: make them all part of the result so none is skipped.
    const extra = all ? Object.values(grads).map((g) => tf.mul(tf.sum(g), 0)) : [];
    const loss = extra.length > 0 ? tf.addN([value, ...extra]) : value;
    return tf.concat([tf.stack(norms), tf.reshape(loss, [1])]).reshape([1, norms.length + 1]) as tf.Tensor2D;
  });
  try {
    return await readRows(packed);
  } finally {
    packed.dispose();
  }
}
