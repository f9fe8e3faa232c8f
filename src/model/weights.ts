/**
 * The weight tensors a config implies, by Hugging Face name, with their shapes. Loading, saving,
 * random init and the model itself all derive from this one list, so they cannot disagree.
 */
import type { ModelConfig } from './config.ts';

export const PROJECTIONS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type Projection = (typeof PROJECTIONS)[number];

export type WeightKind = 'embedding' | 'linear' | 'bias' | 'norm';

/**
 * Where a model's float32 weights come from, by HF name: a Map, or a reader that decodes each tensor from
 * its file only when asked (src/model-store: a model is then never held twice, as file bytes and tensors).
 */
export interface WeightSource {
  get(name: string): Float32Array | undefined;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  kind: WeightKind;
}

const MODULE: Record<Projection, string> = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

/** `model.layers.{layer}.self_attn.q_proj` etc. (without `.weight`). */
export function projectionModule(layer: number, p: Projection): string {
  return `model.layers.${layer}.${MODULE[p]}`;
}

/** [in, out] features of a projection; weights are stored [out, in] as in torch.nn.Linear. */
export function projectionDims(c: ModelConfig, p: Projection): { in: number; out: number } {
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  switch (p) {
    case 'q':
      return { in: c.hidden_size, out: q };
    case 'k':
    case 'v':
      return { in: c.hidden_size, out: kv };
    case 'o':
      return { in: q, out: c.hidden_size };
    case 'gate':
    case 'up':
      return { in: c.hidden_size, out: c.intermediate_size };
    case 'down':
      return { in: c.intermediate_size, out: c.hidden_size };
  }
}

/** Whether a projection has a bias, following each transformers model class. */
export function hasBias(c: ModelConfig, p: Projection): boolean {
  const attn = p === 'q' || p === 'k' || p === 'v' || p === 'o';
  switch (c.model_type) {
    case 'llama':
      return attn ? c.attention_bias : c.mlp_bias;
    case 'mistral':
      return false;
    case 'qwen2':
      return p === 'q' || p === 'k' || p === 'v';
    case 'qwen3':
      return attn && c.attention_bias;
  }
}

/** Qwen3 RMS-normalizes each query/key head (q_norm, k_norm) before RoPE. */
export function hasQkNorm(c: ModelConfig): boolean {
  return c.model_type === 'qwen3';
}

/** Every trainable tensor, in a stable order (embedding, layers, final norm, lm_head unless tied). */
export function weightSpecs(c: ModelConfig): WeightSpec[] {
  const specs: WeightSpec[] = [
    { name: 'model.embed_tokens.weight', shape: [c.vocab_size, c.hidden_size], kind: 'embedding' },
  ];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    specs.push({ name: `model.layers.${l}.input_layernorm.weight`, shape: [c.hidden_size], kind: 'norm' });
    for (const p of PROJECTIONS) {
      if (p === 'gate') {
        specs.push({
          name: `model.layers.${l}.post_attention_layernorm.weight`,
          shape: [c.hidden_size],
          kind: 'norm',
        });
      }
      const d = projectionDims(c, p);
      specs.push({ name: `${projectionModule(l, p)}.weight`, shape: [d.out, d.in], kind: 'linear' });
      if (hasBias(c, p)) specs.push({ name: `${projectionModule(l, p)}.bias`, shape: [d.out], kind: 'bias' });
    }
    if (hasQkNorm(c)) {
      specs.push({ name: `model.layers.${l}.self_attn.q_norm.weight`, shape: [c.head_dim], kind: 'norm' });
      specs.push({ name: `model.layers.${l}.self_attn.k_norm.weight`, shape: [c.head_dim], kind: 'norm' });
    }
  }
  specs.push({ name: 'model.norm.weight', shape: [c.hidden_size], kind: 'norm' });
  if (!c.tie_word_embeddings)
    specs.push({ name: 'lm_head.weight', shape: [c.vocab_size, c.hidden_size], kind: 'linear' });
  return specs;
}

export function countParameters(c: ModelConfig): number {
  return weightSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
