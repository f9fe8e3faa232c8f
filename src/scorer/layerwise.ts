/**
 * The memory-lean engine behind both scorer paths: per-example projection-gradient norms from a
 * backward pass run one layer at a time.
 *
 * tfjs keeps every tensor the forward pass saved for its gradient, and every gradient the backward
 * pass forms, until a whole `tf.grads` call returns: differentiating the full model at once holds
 * all layers' activations and all their gradients at the same time. Here instead:
 *   1. forward without a tape, keeping only each block's input x_l [B, T, d];
 *   2. the final norm + LM head + loss under a tape (the head in chunks, src/sequence/head-loss.ts),
 *      giving the loss and dL/dx_L;
 *   3. for l = L−1 … 0: block l again under a tape with zero probes on its 7 projection outputs,
 *      differentiated with the incoming dL/dx_{l+1}: the probe gradients are the per-example output
 *      gradients G_i and the block records its projection inputs X_i, so the 7 norms ‖G_iᵀX_i‖_F of
 *      this layer are formed right there (ghost or outer product, norms.ts) and everything of the layer
 *      is freed before the next one; dL/dx_l flows on.
 * Peak memory: the L+1 block inputs and L attention outputs, plus one block's forward and backward, plus
 * one head chunk. Cost: one extra forward of the blocks' projections (the recomputation), as in activation
 * checkpointing; attention's forward is not recomputed (its output is kept from step 1).
 * With B = 1 this is the per-trajectory path (the outer product is then the weight gradient itself).
 */
import * as tf from '@tensorflow/tfjs';
import {
  deviceSquaredNorms,
  hostSquaredNorms,
  readFloat32,
  useHostSplit,
  type BatchedOptions,
  type NormsResult,
} from './norms.ts';
import { PROJECTIONS_PER_LAYER, projectionShapes, type ProbeModel, type ProbeStages } from './probe-model.ts';

export type HiddenLossFn = (hidden: tf.Tensor3D, head: tf.Tensor2D) => tf.Tensor1D;

/** A model that offers stages and its LM head (LlamaModel does). */
export function supportsLayerwise(
  model: ProbeModel,
): model is ProbeModel & Required<Pick<ProbeModel, 'openStages' | 'headWeight'>> {
  return model.openStages !== undefined && model.headWeight !== undefined;
}

/**
 * Step 1: block inputs x_0 … x_L without a tape, and each block's attention output (B·T·H·hd per layer,
 * as small as a block input): step 3 then recomputes the projections but not attention's forward.
 */
function forwardInputs(stages: ProbeStages, attention: Array<tf.Tensor3D | undefined>): tf.Tensor3D[] {
  const xs: tf.Tensor3D[] = [tf.tidy(() => stages.embed())];
  for (let l = 0; l < stages.layers; l++) {
    const x = xs[l];
    const keep: { output?: tf.Tensor3D } = {};
    xs.push(tf.tidy(() => stages.block(l, x, { keepAttention: keep })));
    attention[l] = keep.output;
  }
  return xs;
}

/** One layer's backward: [B, 7] squared norms (host or device) and dL/dx_l. */
async function layerBackward(
  stages: ProbeStages,
  l: number,
  x: tf.Tensor3D,
  dy: tf.Tensor3D,
  attentionOutput: tf.Tensor3D | undefined,
  model: ProbeModel,
  opts: BatchedOptions,
): Promise<{ sq: Float64Array | tf.Tensor2D; dx: tf.Tensor3D }> {
  const [B, T] = x.shape;
  const shapes = projectionShapes(model).slice(l * PROJECTIONS_PER_LAYER, (l + 1) * PROJECTIONS_PER_LAYER);
  const probes = shapes.map((s) => tf.zeros([B, T, s.out]));
  const inputs: tf.Tensor3D[] = [];
  let grads: tf.Tensor[] = [];
  try {
    const res = tf.valueAndGrads((xin: tf.Tensor, ...ps: tf.Tensor[]) =>
      stages.block(l, xin as tf.Tensor3D, { probes: ps, inputs, attentionOutput }),
    )([x, ...probes], dy);
    res.value.dispose();
    grads = res.grads;
    const dx = grads[0] as tf.Tensor3D;
    const g = grads.slice(1);
    const sq = useHostSplit(opts.split)
      ? await hostSquaredNorms(shapes, g, inputs, B, T, opts.lengths, opts.normMethod)
      : deviceSquaredNorms(shapes, g, inputs, T, opts.normMethod);
    tf.dispose(g);
    return { sq, dx };
  } catch (err) {
    tf.dispose(grads);
    throw err;
  } finally {
    tf.dispose(probes);
    tf.dispose(inputs);
  }
}

export async function layerwiseProbeNorms(
  model: ProbeModel & Required<Pick<ProbeModel, 'openStages' | 'headWeight'>>,
  inputIds: tf.Tensor2D,
  loss: HiddenLossFn,
  opts: BatchedOptions = {},
): Promise<NormsResult> {
  const [B] = inputIds.shape;
  const stages = model.openStages(inputIds);
  const L = stages.layers;
  const N = L * PROJECTIONS_PER_LAYER;
  let xs: tf.Tensor3D[] = [];
  const attention: Array<tf.Tensor3D | undefined> = new Array(L);
  const perLayer: Array<Float64Array | tf.Tensor2D> = new Array(L);
  let dy: tf.Tensor3D | undefined;
  let losses: tf.Tensor1D | undefined;
  try {
    xs = forwardInputs(stages, attention);
    const head = model.headWeight() as tf.Tensor2D;
    const top = tf.valueAndGrads((h: tf.Tensor) => {
      losses = tf.keep(loss(stages.finalNorm(h as tf.Tensor3D), head));
      return tf.sum(losses);
    })([xs[L]]);
    top.value.dispose();
    dy = top.grads[0] as tf.Tensor3D;
    for (let l = L - 1; l >= 0; l--) {
      xs[l + 1].dispose();
      const { sq, dx } = await layerBackward(stages, l, xs[l], dy, attention[l], model, opts);
      attention[l]?.dispose();
      perLayer[l] = sq;
      dy.dispose();
      dy = dx;
    }
    const sq = new Float64Array(B * N);
    const device = perLayer.filter((p): p is tf.Tensor2D => p instanceof tf.Tensor);
    let deviceData: Float32Array | undefined;
    if (device.length > 0) {
      const all = tf.concat(device, 1); // [B, N]: every layer took the same (device) route
      try {
        deviceData = await readFloat32(all); // asynchronous: webgpu has no synchronous read in Node
      } finally {
        all.dispose();
      }
    }
    perLayer.forEach((p, l) => {
      for (let b = 0; b < B; b++) {
        for (let k = 0; k < PROJECTIONS_PER_LAYER; k++) {
          sq[b * N + l * PROJECTIONS_PER_LAYER + k] =
            p instanceof tf.Tensor
              ? (deviceData as Float32Array)[b * N + l * PROJECTIONS_PER_LAYER + k]
              : p[b * PROJECTIONS_PER_LAYER + k];
        }
      }
    });
    const lossValues = Float32Array.from(await readFloat32(losses as tf.Tensor1D));
    return {
      // Ghost sums can round to a tiny negative number; clamp before the square root.
      norms: Array.from({ length: B }, (_, b) =>
        Float32Array.from(sq.subarray(b * N, (b + 1) * N), (v) => Math.sqrt(Math.max(v, 0))),
      ),
      losses: lossValues,
    };
  } finally {
    tf.dispose(xs.filter((x) => !x.isDisposed));
    tf.dispose(attention.filter((a): a is tf.Tensor3D => a !== undefined && !a.isDisposed));
    tf.dispose(perLayer.filter((p): p is tf.Tensor2D => p instanceof tf.Tensor));
    dy?.dispose();
    losses?.dispose();
    stages.dispose();
  }
}
