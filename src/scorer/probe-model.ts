import type * as tf from '@tensorflow/tfjs';
import { PROJECTIONS, type Projection } from '../model/weights.ts';

/**
 * The slice of the Llama model (src/model/llama.ts) the scorer needs. Declared structurally here so
 * the gradient engine can be exercised on tiny hand-built models in tests; LlamaModel satisfies it.
 *
 * Projection index j = layer·7 + p, p over PROJECTIONS = q,k,v,o,gate,up,down (layer-major).
 */
export interface ProbeForwardOptions {
  /** One zero tensor per projection, [B,T,out], added to that projection's output. */
  probes?: tf.Tensor[];
  /** Return each projection's input [B,T,in], same order as the probes. */
  captureInputs?: boolean;
  /** Only probe gradients are wanted: the model may skip forming weight gradients. */
  frozenWeights?: boolean;
}

export interface ProbeForwardResult {
  logits: tf.Tensor3D;
  projectionInputs?: tf.Tensor3D[];
}

export interface ProbeHiddenResult {
  /** Final-norm hidden states [B, T, d]. */
  hidden: tf.Tensor3D;
  projectionInputs?: tf.Tensor3D[];
}

/** The model as separately callable stages (LlamaModel.openStages). */
export interface ProbeStages {
  readonly layers: number;
  embed(): tf.Tensor3D;
  /**
   * Block l. probes: added to its 7 projection outputs; inputs: its projection inputs are appended (kept);
   * keepAttention: its attention output is stored (kept); attentionOutput: that output from an earlier pass
   * over the same x, so attention's forward is not recomputed (optional for a model to honour).
   */
  block(
    l: number,
    x: tf.Tensor3D,
    opts?: {
      probes?: tf.Tensor[];
      inputs?: tf.Tensor3D[];
      keepAttention?: { output?: tf.Tensor3D };
      attentionOutput?: tf.Tensor3D;
    },
  ): tf.Tensor3D;
  finalNorm(x: tf.Tensor3D): tf.Tensor3D;
  dispose(): void;
}

export interface ProbeModel {
  forward(inputIds: tf.Tensor2D, opts?: ProbeForwardOptions): ProbeForwardResult;
  /** Hidden states instead of logits, for a loss that applies the LM head in chunks (optional). */
  forwardHidden?(inputIds: tf.Tensor2D, opts?: ProbeForwardOptions): ProbeHiddenResult;
  /** The LM head weight [vocab, d] (with forwardHidden). */
  headWeight?(): tf.Tensor;
  /** Stage-by-stage access for the layer-wise backward pass (layerwise.ts; optional). */
  openStages?(inputIds: tf.Tensor2D): ProbeStages;
  /** The 7L projection weight variables, in probe order. */
  projectionWeights(): tf.Variable[];
  /** Every weight of the model (projections, embeddings, norms, LM head). */
  namedWeights(): Map<string, tf.Variable>;
  projectionShape(layer: number, p: Projection): { in: number; out: number };
}

export const PROJECTIONS_PER_LAYER = PROJECTIONS.length;

export interface ProjectionShape {
  in: number;
  out: number;
}

/** All 7L projection shapes in probe order. */
export function projectionShapes(model: ProbeModel): ProjectionShape[] {
  const n = model.projectionWeights().length;
  const shapes: ProjectionShape[] = [];
  for (let j = 0; j < n; j++) {
    const s = model.projectionShape(
      Math.floor(j / PROJECTIONS_PER_LAYER),
      PROJECTIONS[j % PROJECTIONS_PER_LAYER],
    );
    shapes.push({ in: s.in, out: s.out });
  }
  return shapes;
}
