/**
 * Rotary position embeddings, as transformers computes them (modeling_rope_utils.py):
 * inv_freq[i] = 1 / theta^(2i/d), optionally rescaled (linear, llama3); angle = position · inv_freq;
 * cos/sin tables have the frequencies repeated twice ([f0..f(d/2-1), f0..f(d/2-1)]) to match
 * `rotate_half`, which pairs dimension j with j + d/2.
 * Arithmetic is rounded to float32 at the same steps as torch, so tables match to the last ulp or so.
 */
import type { ModelConfig } from './config.ts';

const fr = Math.fround;

export function inverseFrequencies(
  c: Pick<ModelConfig, 'head_dim' | 'rope_theta' | 'rope_scaling'>,
): Float32Array {
  const dim = c.head_dim;
  const inv = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) inv[i] = fr(1 / fr(c.rope_theta ** fr((2 * i) / dim)));
  const s = c.rope_scaling;
  if (s === null) return inv;
  if (s.rope_type === 'linear') return inv.map((f) => fr(f / s.factor));
  // Llama 3.1: long wavelengths are slowed down by `factor`, short ones kept, the band between interpolated.
  const lowWavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const highWavelen = s.original_max_position_embeddings / s.high_freq_factor;
  return inv.map((f) => {
    const wavelen = fr((2 * Math.PI) / f);
    const scaled = wavelen > lowWavelen ? fr(f / s.factor) : f;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = fr(
      (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
        (s.high_freq_factor - s.low_freq_factor),
    );
    return fr(fr(((1 - smooth) * scaled) / s.factor) + fr(smooth * scaled));
  });
}

/** cos and sin tables, each [T, head_dim] row-major, for positions 0..T-1. */
export function ropeTables(inv: Float32Array, T: number): { cos: Float32Array; sin: Float32Array } {
  const half = inv.length;
  const dim = 2 * half;
  const cos = new Float32Array(T * dim);
  const sin = new Float32Array(T * dim);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = fr(t * inv[i]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[t * dim + i] = c;
      cos[t * dim + i + half] = c;
      sin[t * dim + i] = s;
      sin[t * dim + i + half] = s;
    }
  }
  return { cos, sin };
}
