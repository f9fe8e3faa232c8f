import type { ModelConfig } from '../model/config.ts';

export type MemoryShape = Pick<
  ModelConfig,
  'num_hidden_layers' | 'num_attention_heads' | 'hidden_size' | 'intermediate_size' | 'vocab_size'
>;

/**
 * Rough float32 activation memory of one sequence of T positions through a forward + backward pass:
 *   4 bytes · [ 6·L·H·T²  (attention scores, masked scores, probabilities and their gradients)
 *             + T·(L·(12·d + 4·ff) + 4·V) ]  (residual stream, norms, q/k/v/o, MLP, logits, probes)
 * It undercounts allocator overhead (measured: 2–3× below RSS on wasm); the budget it is compared with
 * is chosen accordingly. Used to cut micro-batches so that long trajectories do not overflow the wasm32
 * heap (which aborts the module: "memory access out of bounds") or a GPU.
 */
export function activationBytes(c: MemoryShape, T: number): number {
  const L = c.num_hidden_layers;
  const attention = 6 * L * c.num_attention_heads * T * T;
  const linear = T * (L * (12 * c.hidden_size + 4 * c.intermediate_size) + 4 * c.vocab_size);
  return 4 * (attention + linear);
}
