import type { ModelConfig } from '../model/config.ts';
import { PROJECTIONS, projectionDims } from '../model/weights.ts';
import { chooseNormMethod, type NormMethodSetting } from './norms.ts';

/**
 * Analytic FLOP counts (multiply-add = 2 FLOPs; elementwise ops, softmax, norms and RoPE ignored)
 * for one sequence of T computed positions. With P = Σ_proj in·out over all 7L projections,
 * A = 4·L·T²·H·hd (QKᵀ and P·V over the full causal T×T block, as the model computes it),
 * Hd = 2·T·d·V (LM head):
 *
 *   forward                  F  = 2·T·P + A + Hd
 *   backward to activations  Ba = 2·T·P + 2A + Hd       (dX of every matmul; dQ,dK and dP,dV)
 *   projection weight grads  Wp = 2·T·P
 *   all weight grads         Wa = Wp + Hd + 2·T·V·d     (LM head and one-hot embedding too)
 *   per-example norms        N  = Σ_proj [outer: 2·T·in·out | ghost: 2T²·out + 2T² + 2T²·in once per shared input]
 *
 * Paths: batched = F + Ba + N at the batch's padded T; per-trajectory = F + Ba + Wp at each own T;
 * reference (paper) = F + Ba + Wa at each own T; training step = F + Ba + Wa at the padded T.
 * GFLOP/s in the bench = these counts / wall time, a measure of how well a path uses the backend.
 */
export interface FlopModel {
  forward(T: number): number;
  backwardActivations(T: number): number;
  projectionWeightGrads(T: number): number;
  allWeightGrads(T: number): number;
  norms(T: number, method?: NormMethodSetting): number;
}

/** P = Σ in·out over all 7L projections, and the attention factor a with A = a·T² (a = 4·L·H·hd). */
export function flopTerms(c: ModelConfig): { projectionParams: number; attentionPerSquaredLength: number } {
  const L = c.num_hidden_layers;
  const P = L * PROJECTIONS.map((p) => projectionDims(c, p)).reduce((s, d) => s + d.in * d.out, 0);
  return { projectionParams: P, attentionPerSquaredLength: 4 * L * c.num_attention_heads * c.head_dim };
}

export function flopModel(c: ModelConfig): FlopModel {
  const L = c.num_hidden_layers;
  const dims = PROJECTIONS.map((p) => projectionDims(c, p));
  const { projectionParams: P, attentionPerSquaredLength: a } = flopTerms(c);
  const attn = (T: number): number => a * T * T;
  const head = (T: number): number => 2 * T * c.hidden_size * c.vocab_size;
  return {
    forward: (T) => 2 * T * P + attn(T) + head(T),
    backwardActivations: (T) => 2 * T * P + 2 * attn(T) + head(T),
    projectionWeightGrads: (T) => 2 * T * P,
    allWeightGrads: (T) => 2 * T * P + head(T) + 2 * T * c.vocab_size * c.hidden_size,
    norms: (T, method = 'auto') => {
      let perLayer = 0;
      const sharedGram = new Set<string>();
      PROJECTIONS.forEach((p, k) => {
        const d = dims[k];
        if (chooseNormMethod(T, d, method) === 'outer') {
          perLayer += 2 * T * d.in * d.out;
          return;
        }
        perLayer += 2 * T * T * d.out + 2 * T * T;
        // q/k/v read one input, gate/up another: their X Gram is formed once.
        const group =
          p === 'q' || p === 'k' || p === 'v' ? 'attn-in' : p === 'gate' || p === 'up' ? 'mlp-in' : p;
        if (!sharedGram.has(group)) {
          sharedGram.add(group);
          perLayer += 2 * T * T * d.in;
        }
      });
      return L * perLayer;
    },
  };
}
