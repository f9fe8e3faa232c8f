import type { ModelConfig } from '../model/config.ts';
import { weightSpecs } from '../model/weights.ts';
import { ATTENTION_BLOCK_BYTES } from '../model/attention.ts';
import { HEAD_CHUNK_BYTES } from '../sequence/head-loss.ts';

export type MemoryShape = Pick<
  ModelConfig,
  'num_hidden_layers' | 'num_attention_heads' | 'hidden_size' | 'intermediate_size' | 'vocab_size'
>;

/**
 * Float32 working memory of one scorer pass over B sequences of T positions with the layer-wise
 * backward (layerwise.ts), blocked attention (model/attention.ts) and the chunked LM head
 * (sequence/head-loss.ts) — the memory model in README's scorer section:
 *
 *   kept for the whole pass, per token  (2L+1)·d   block inputs and attention outputs     grows with L, d
 *   then the larger of two phases (the head runs, and frees its chunks, before the first layer's backward):
 *     layer phase  per token  40·d + 24·ff           one block's forward and backward     grows with d, ff (not L)
 *                  per example Σ_p min(in·out, T²)   one layer's per-example norm products (outer or ghost)
 *                  ~10 × ATTENTION_BLOCK_BYTES        one attention block's scores, probabilities, gradients
 *     head phase   4 × min(B·T·V·4, HEAD_CHUNK_BYTES)  one chunk of logits, softmax and their products
 *                  + per token 2·d                   the gradient w.r.t. the hidden states
 *
 * Nothing grows with T² (attention runs in query blocks) or with B·T·V (the head runs in chunks).
 * The constants 40 and 24 were fitted on the native backend (peak RSS minus RSS before scoring, tiny and
 * small presets at 4k–16k tokens: within 15 %; the 0.5 B Qwen2 shape at 1×1024, 1×4096 and 4×2048 within
 * 13 %); a test checks the whole estimate against a measured peak, with a byte and a 152 k vocabulary.
 */
export function batchActivationBytes(c: MemoryShape, B: number, T: number): number {
  const d = c.hidden_size;
  const ff = c.intermediate_size;
  const L = c.num_hidden_layers;
  const kept = 4 * B * T * (2 * L + 1) * d; // attention outputs: H·hd ≈ d wide
  const kv = d; // upper bound for k/v widths; exact widths do not matter at this precision
  const products = [d * d, kv * d, kv * d, d * d, ff * d, ff * d, d * ff].reduce(
    (s, io) => s + Math.min(io, T * T),
    0,
  );
  const layer = 4 * (B * T * (40 * d + 24 * ff) + B * products) + 10 * ATTENTION_BLOCK_BYTES;
  // The head runs (and frees its chunks) before the first layer's backward: the two phases do not overlap.
  const head = 4 * Math.min(4 * B * T * c.vocab_size, HEAD_CHUNK_BYTES) + 4 * 2 * B * T * d;
  return kept + Math.max(layer, head);
}

/** The same for one sequence alone (B = 1). */
export function activationBytes(c: MemoryShape, T: number): number {
  return batchActivationBytes(c, 1, T);
}

/**
 * The working memory one pass over rows of T positions may use under `scorer.maxBatchMemoryMB: auto` (the
 * default): the weights' bytes plus two trajectories' worth of activations at T. The paper's loop holds a
 * full weight gradient (as large as the weights) next to one trajectory's activations; the batched path never
 * forms weight gradients, so it spends that room, and one more trajectory, on extra rows. Its peak then stays
 * near the loop's instead of growing with B (measured in BENCHMARKS §10), and long rows batch less.
 */
export function autoBatchBudgetBytes(c: MemoryShape, T: number, weightBytes: number): number {
  return weightBytes + 2 * activationBytes(c, T);
}

/** Float32 bytes of a model's weights from its config (every tensor in model/weights.ts weightSpecs). */
export function modelWeightBytes(c: ModelConfig): number {
  return 4 * weightSpecs(c).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
}
