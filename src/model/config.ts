/**
 * The Hugging Face `config.json` of a Llama-family decoder, parsed and normalized.
 *
 * Accepts both the transformers v4 spelling (`rope_theta` + `rope_scaling`) and the v5 one
 * (`rope_parameters`), fills the defaults transformers would fill, and rejects what the tfjs
 * model cannot compute (other activations, other RoPE types) with a typed error instead of
 * silently computing something else.
 */
import { ModelError } from './errors.ts';

export const MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'qwen3'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];
export type LayerType = 'full_attention' | 'sliding_attention';

/** RoPE frequency scaling. `llama3` is Llama-3.1's; `linear` divides every frequency by `factor`. */
export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | {
      rope_type: 'llama3';
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    };

export interface ModelConfig {
  model_type: ModelType;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  vocab_size: number;
  tie_word_embeddings: boolean;
  /** llama/qwen3: bias on q,k,v,o. qwen2 always has q,k,v bias (and none on o); mistral never has one. */
  attention_bias: boolean;
  /** llama only: bias on gate/up/down. */
  mlp_bias: boolean;
  max_position_embeddings: number;
  hidden_act: 'silu';
  /** Window of sliding-attention layers (key k visible from query q iff q - W < k <= q), or null. */
  sliding_window: number | null;
  /** Attention kind per layer (length num_hidden_layers). */
  layer_types: LayerType[];
  initializer_range: number;
  /** 'byte' marks prism's built-in byte-level tokenizer (see src/tokenizer/byte.ts). */
  prism_tokenizer?: 'byte';
  /** Every key of the original config.json, so a save writes back what it does not understand. */
  raw: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function bad(message: string): ModelError {
  return new ModelError('MODEL_CONFIG_INVALID', `config.json: ${message}`);
}

function posInt(raw: Json, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw bad(`"${key}" must be a positive integer, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}

function posNum(raw: Json, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw bad(`"${key}" must be a positive number, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}

function bool(raw: Json, key: string, fallback: boolean): boolean {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'boolean') throw bad(`"${key}" must be true or false, got ${JSON.stringify(raw[key])}`);
  return v;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads rope_theta / rope scaling from either the v5 `rope_parameters` or the v4 keys. */
function parseRope(raw: Json, maxPos: number): { theta: number; scaling: RopeScaling | null } {
  const params = isObject(raw.rope_parameters) ? raw.rope_parameters : null;
  const legacy = isObject(raw.rope_scaling) ? raw.rope_scaling : null;
  const src: Json = { ...(legacy ?? {}), ...(params ?? {}) };
  const theta = posNum({ rope_theta: src.rope_theta ?? raw.rope_theta }, 'rope_theta', 10000);
  const type = src.rope_type ?? src.type ?? 'default';
  const partial = src.partial_rotary_factor ?? raw.partial_rotary_factor ?? 1;
  if (partial !== 1) {
    throw new ModelError(
      'UNSUPPORTED_MODEL_FEATURE',
      `config.json: partial_rotary_factor ${String(partial)} is not supported (only 1)`,
    );
  }
  if (type === 'default') return { theta, scaling: null };
  if (type === 'linear') return { theta, scaling: { rope_type: 'linear', factor: posNum(src, 'factor') } };
  if (type === 'llama3') {
    const scaling: RopeScaling = {
      rope_type: 'llama3',
      factor: posNum(src, 'factor'),
      low_freq_factor: posNum(src, 'low_freq_factor'),
      high_freq_factor: posNum(src, 'high_freq_factor'),
      original_max_position_embeddings: posInt(src, 'original_max_position_embeddings', maxPos),
    };
    if (scaling.high_freq_factor <= scaling.low_freq_factor)
      throw bad('rope scaling needs high_freq_factor > low_freq_factor');
    return { theta, scaling };
  }
  throw new ModelError(
    'UNSUPPORTED_MODEL_FEATURE',
    `config.json: rope_type "${String(type)}" is not supported (supported: default, linear, llama3)`,
  );
}

/** Which layers use sliding-window attention, following each transformers model class. */
function parseSliding(
  raw: Json,
  type: ModelType,
  layers: number,
): { window: number | null; types: LayerType[] } {
  const full = (): LayerType[] => Array.from({ length: layers }, () => 'full_attention');
  const w = raw.sliding_window;
  const window = typeof w === 'number' && Number.isInteger(w) && w > 0 ? w : null;
  if (w !== undefined && w !== null && window === null)
    throw bad(`"sliding_window" must be a positive integer or null`);
  if (type === 'llama') return { window: null, types: full() };
  // MistralModel applies the window to every layer whenever sliding_window is set.
  if (type === 'mistral')
    return { window, types: window === null ? full() : full().map(() => 'sliding_attention') };
  // Qwen2/Qwen3: the window only exists with use_sliding_window, on the layers layer_types names.
  const effective = raw.use_sliding_window === true ? window : null;
  if (effective === null) return { window: null, types: full() };
  if (Array.isArray(raw.layer_types)) {
    const types = raw.layer_types as unknown[];
    if (types.length !== layers || !types.every((t) => t === 'full_attention' || t === 'sliding_attention')) {
      throw bad(`"layer_types" must list ${layers} entries of full_attention|sliding_attention`);
    }
    return { window: effective, types: types as LayerType[] };
  }
  const maxWindowLayers = typeof raw.max_window_layers === 'number' ? raw.max_window_layers : 28;
  return {
    window: effective,
    types: full().map((_, i) => (i >= maxWindowLayers ? 'sliding_attention' : 'full_attention')),
  };
}

/** Parses a config.json object; throws ModelError naming the offending key. */
export function parseModelConfig(raw: unknown): ModelConfig {
  if (!isObject(raw)) throw bad('must be a JSON object');
  const type = raw.model_type;
  if (typeof type !== 'string' || !(MODEL_TYPES as readonly string[]).includes(type)) {
    throw new ModelError(
      'UNKNOWN_MODEL_TYPE',
      `config.json: model_type ${JSON.stringify(type)} is not supported (supported: ${MODEL_TYPES.join(', ')})`,
    );
  }
  const modelType = type as ModelType;
  const act = raw.hidden_act ?? raw.hidden_activation ?? 'silu';
  if (act !== 'silu') {
    throw new ModelError(
      'UNSUPPORTED_MODEL_FEATURE',
      `config.json: hidden_act "${String(act)}" is not supported (only silu)`,
    );
  }
  const hidden = posInt(raw, 'hidden_size');
  const heads = posInt(raw, 'num_attention_heads');
  const kvHeads = posInt({ v: raw.num_key_value_heads ?? heads }, 'v');
  if (heads % kvHeads !== 0) {
    throw bad(`num_attention_heads (${heads}) must be a multiple of num_key_value_heads (${kvHeads})`);
  }
  // transformers: head_dim from config when set (and non-null), else hidden_size / heads.
  const headDim = raw.head_dim === undefined || raw.head_dim === null ? hidden / heads : raw.head_dim;
  const headDimInt = posInt({ head_dim: headDim }, 'head_dim');
  if (headDimInt % 2 !== 0) throw bad(`head_dim (${headDimInt}) must be even for rotary embeddings`);
  const layers = posInt(raw, 'num_hidden_layers');
  const maxPos = posInt(raw, 'max_position_embeddings', 2048);
  const rope = parseRope(raw, maxPos);
  const sliding = parseSliding(raw, modelType, layers);
  const tok = raw.prism_tokenizer;
  if (tok !== undefined && tok !== 'byte') throw bad(`"prism_tokenizer" must be "byte" when present`);
  return {
    model_type: modelType,
    hidden_size: hidden,
    intermediate_size: posInt(raw, 'intermediate_size'),
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDimInt,
    rms_norm_eps: posNum(raw, 'rms_norm_eps', 1e-6),
    rope_theta: rope.theta,
    rope_scaling: rope.scaling,
    vocab_size: posInt(raw, 'vocab_size'),
    tie_word_embeddings: bool(raw, 'tie_word_embeddings', false),
    attention_bias: bool(raw, 'attention_bias', false),
    mlp_bias: bool(raw, 'mlp_bias', false),
    max_position_embeddings: maxPos,
    hidden_act: 'silu',
    sliding_window: sliding.window,
    layer_types: sliding.types,
    initializer_range: posNum(raw, 'initializer_range', 0.02),
    ...(tok === 'byte' ? { prism_tokenizer: 'byte' as const } : {}),
    raw: { ...raw },
  };
}

const ARCHITECTURES: Record<ModelType, string> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
};

/**
 * The config.json to write next to saved weights: the original keys, overwritten by the normalized
 * values. RoPE is written both as v4 keys (rope_theta, rope_scaling) and as v5 `rope_parameters`;
 * transformers 5.x accepts the pair (checked with 5.23.0) and 4.x reads the v4 keys.
 */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  const ropeParameters = c.rope_scaling
    ? { ...c.rope_scaling, rope_theta: c.rope_theta }
    : { rope_type: 'default', rope_theta: c.rope_theta };
  const out: Record<string, unknown> = {
    ...c.raw,
    architectures: [ARCHITECTURES[c.model_type]],
    model_type: c.model_type,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    head_dim: c.head_dim,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: c.rope_scaling,
    rope_parameters: ropeParameters,
    vocab_size: c.vocab_size,
    tie_word_embeddings: c.tie_word_embeddings,
    attention_bias: c.attention_bias,
    max_position_embeddings: c.max_position_embeddings,
    hidden_act: c.hidden_act,
    initializer_range: c.initializer_range,
    torch_dtype: 'float32',
    dtype: 'float32',
  };
  if (c.model_type === 'llama') out.mlp_bias = c.mlp_bias;
  if (c.model_type === 'mistral') out.sliding_window = c.sliding_window;
  if (c.model_type === 'qwen2' || c.model_type === 'qwen3') {
    out.use_sliding_window = c.sliding_window !== null;
    out.sliding_window = c.sliding_window;
    out.layer_types = c.layer_types;
  }
  if (c.prism_tokenizer) out.prism_tokenizer = c.prism_tokenizer;
  return out;
}

export const PRESETS = ['tiny', 'small'] as const;
export type Preset = (typeof PRESETS)[number];
export const ARCHS = ['llama', 'qwen2', 'qwen3', 'mistral'] as const;
export type Arch = (typeof ARCHS)[number];

/** Shapes of the built-in presets (all use the byte tokenizer; see src/tokenizer/byte.ts). */
const PRESET_SHAPES: Record<Preset, Json> = {
  // ≈0.2 M parameters: 4 layers so the PRISM vector has 28 entries.
  tiny: {
    hidden_size: 64,
    intermediate_size: 172,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    max_position_embeddings: 1024,
  },
  // ≈4.5 M parameters.
  small: {
    hidden_size: 256,
    intermediate_size: 688,
    num_hidden_layers: 6,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    head_dim: 32,
    max_position_embeddings: 2048,
  },
};

/** The config of a built-in preset for one architecture variant. */
export function presetConfig(preset: Preset, arch: Arch, vocabSize: number): ModelConfig {
  const raw: Json = {
    model_type: arch,
    ...PRESET_SHAPES[preset],
    vocab_size: vocabSize,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    rope_scaling: null,
    tie_word_embeddings: false,
    attention_bias: false,
    hidden_act: 'silu',
    initializer_range: 0.02,
    prism_tokenizer: 'byte',
  };
  if (arch === 'mistral') raw.sliding_window = null;
  return parseModelConfig(raw);
}
