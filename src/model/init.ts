/**
 * Deterministic random initialization, as transformers' `_init_weights` for Llama-family models:
 * Linear and Embedding weights ~ N(0, initializer_range), biases 0, RMSNorm weights 1.
 * Each tensor draws from its own stream seeded by (seed, tensor name), so adding a tensor does not
 * shift the others. The generator is ours (not tfjs's), so weights do not depend on the tfjs version.
 */
import type { ModelConfig } from './config.ts';
import { weightSpecs } from './weights.ts';

/** 32-bit FNV-1a, to turn a tensor name into a stream id. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for weight init. Returns floats in (0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

/** n samples of N(0, std) by Box–Muller. */
export function normalSamples(n: number, std: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand()));
    const theta = 2 * Math.PI * rand();
    out[i] = std * r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = std * r * Math.sin(theta);
  }
  return out;
}

export function randomWeights(config: ModelConfig, seed: number): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const s of weightSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.kind === 'norm') weights.set(s.name, new Float32Array(n).fill(1));
    else if (s.kind === 'bias') weights.set(s.name, new Float32Array(n));
    else {
      const rand = mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) ^ fnv1a(s.name)) >>> 0);
      weights.set(s.name, normalSamples(n, config.initializer_range, rand));
    }
  }
  return weights;
}
