/**
 * A Llama-family decoder (llama, mistral, qwen2, qwen3) in tfjs, numerically matching
 * transformers' *ForCausalLM in fp32 (tests/unit/model-golden.test.ts).
 *
 * Reads top to bottom like nanoGPT's model.py: config → RMSNorm → RoPE → attention → MLP → block → model.
 * Weights are tf.Variables in HF layout ([out, in] for projections; y = x · Wᵀ).
 * Every projection output can take an additive zero "probe", so the gradient of a loss w.r.t. the
 * probe is that projection's per-position output gradient (prism-method.md §5).
 */
import * as tf from '@tensorflow/tfjs';
import { presetConfig, type Arch, type ModelConfig, type Preset } from './config.ts';
import { ModelError } from './errors.ts';
import { randomWeights } from './init.ts';
import { attention } from './attention.ts';
import { embed, linear } from './linear.ts';
import { inverseFrequencies, ropeTables } from './rope.ts';
import {
  PROJECTIONS,
  hasBias,
  hasQkNorm,
  projectionDims,
  projectionModule,
  weightSpecs,
  type Projection,
  type WeightSource,
} from './weights.ts';
import { BYTE_VOCAB_SIZE } from '../tokenizer/byte.ts';

export { PROJECTIONS, type Projection } from './weights.ts';
export type { ModelConfig } from './config.ts';

export interface ForwardOptions {
  /** One zero tensor per projection, index = layer * 7 + PROJECTIONS.indexOf(p), shape [B, T, outFeatures]; added to that
   *  projection's output (after bias) so the gradient of a loss w.r.t. it is the per-position output gradient. */
  probes?: tf.Tensor[];
  /** When true, return each projection's input activations [B, T, inFeatures] in the same order.
   *  They are tf.keep()-ed (so they survive tf.tidy and the scope tf.grads opens): the caller must dispose them.
   *  Each entry is its own tensor object (q/k/v and gate/up share data, not handles), so disposing one is safe. */
  captureInputs?: boolean;
  /** The caller differentiates w.r.t. probes (or inputs) only, never w.r.t. weights, e.g. the scorer's
   *  probe pass: dense layers then skip forming weight gradients (they would on wasm, see linear.ts).
   *  Weight gradients are unavailable with it, so never set it in a training step. */
  frozenWeights?: boolean;
}

export interface ForwardResult {
  logits: tf.Tensor3D;
  projectionInputs?: tf.Tensor3D[];
}

export interface StageBlockOptions {
  /** This layer's 7 probes [B, T, out], added to its projection outputs. */
  probes?: tf.Tensor[];
  /** Its 7 projection inputs are appended here (kept: the caller disposes them). */
  inputs?: tf.Tensor3D[];
  /** The attention output [B·KV, rep·T, hd] is stored here, kept (the caller disposes it). */
  keepAttention?: { output?: tf.Tensor3D };
  /** That output from an earlier pass over the same x: attention's forward is skipped (model/attention.ts). */
  attentionOutput?: tf.Tensor3D;
}

/** See LlamaModel.openStages. */
export interface ModelStages {
  readonly layers: number;
  /** Embedding rows [B, T, d]. */
  embed(): tf.Tensor3D;
  /** Block l on x [B, T, d]; see StageBlockOptions. */
  block(l: number, x: tf.Tensor3D, opts?: StageBlockOptions): tf.Tensor3D;
  /** The final RMSNorm (before the LM head). */
  finalNorm(x: tf.Tensor3D): tf.Tensor3D;
  dispose(): void;
}

export interface HiddenResult {
  /** Final-norm hidden states [B, T, d]. */
  hidden: tf.Tensor3D;
  projectionInputs?: tf.Tensor3D[];
}

/** Additive mask value: large enough that exp() underflows to exactly 0 in float32. */
const MASKED = -1e9;

// ---- RMSNorm: w ⊙ x / sqrt(mean(x²) + eps), over the last axis ----
function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const variance = tf.mean(tf.square(x), -1, true);
  return tf.mul(w, tf.mul(x, tf.rsqrt(tf.add(variance, eps))));
}

// ---- RoPE (HF rotate_half convention: dimension j pairs with j + d/2) ----
function rotateHalf(x: tf.Tensor): tf.Tensor {
  const [x1, x2] = tf.split(x, 2, -1);
  return tf.concat([tf.neg(x2), x1], -1);
}

/** x [B, heads, T, hd]; cos/sin [T, hd]. */
function applyRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
}

/** [T, T] additive causal mask; with a window W, key k is visible from query q iff q - W < k <= q. */
function causalMask(T: number, window: number | null): Float32Array {
  const m = new Float32Array(T * T);
  for (let q = 0; q < T; q++) {
    for (let k = 0; k < T; k++) {
      if (k > q || (window !== null && k <= q - window)) m[q * T + k] = MASKED;
    }
  }
  return m;
}

interface LayerWeights {
  inputNorm: tf.Variable;
  postNorm: tf.Variable;
  w: Record<Projection, tf.Variable>;
  b: Partial<Record<Projection, tf.Variable>>;
  qNorm?: tf.Variable;
  kNorm?: tf.Variable;
}

/** Per-forward context shared by all layers. */
interface Step {
  B: number;
  T: number;
  cos: tf.Tensor;
  sin: tf.Tensor;
  masks: Map<number | null, tf.Tensor>;
  probes?: tf.Tensor[];
  inputs?: tf.Tensor3D[];
  frozen: boolean;
  keepAttention?: { output?: tf.Tensor3D };
  attentionOutput?: tf.Tensor3D;
}

export class LlamaModel {
  readonly config: ModelConfig;
  /** The folder this model was loaded from, if any (src/model-store saveModel copies tokenizer files from it). */
  readonly sourceDir: string | null;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly layers: LayerWeights[] = [];
  private readonly invFreq: Float32Array;

  constructor(config: ModelConfig, weights: WeightSource, sourceDir: string | null = null) {
    this.config = config;
    this.sourceDir = sourceDir;
    this.invFreq = inverseFrequencies(config);
    for (const s of weightSpecs(config)) {
      const data = weights.get(s.name);
      const numel = s.shape.reduce((a, b) => a * b, 1);
      if (!data) throw new ModelError('MISSING_TENSOR', `tensor "${s.name}" is missing`);
      if (data.length !== numel) {
        throw new ModelError(
          'SHAPE_MISMATCH',
          `tensor "${s.name}" has ${data.length} values, expected [${s.shape.join(', ')}]`,
        );
      }
      // No variable name: tfjs names must be globally unique, and several models may be alive.
      // The variable shares the initial tensor's data (refcounted); disposing the initial tensor keeps
      // the data alive but stops it pinning the weights after dispose() (a leak of every weight).
      const initial = tf.tensor(data, s.shape, 'float32');
      const v = tf.variable(initial, true);
      initial.dispose();
      // tfjs-node copies a tensor's JS values into TensorFlow only when an op first reads it, and the
      // JS copy lives on until V8 collects it: without this touch the first pass held every weight twice
      // (+1.8 GB on a 0.5 B model). A one-element slice makes the copy now, one tensor at a time.
      tf.slice(
        v,
        new Array<number>(s.shape.length).fill(0),
        new Array<number>(s.shape.length).fill(1),
      ).dispose();
      this.vars.set(s.name, v);
    }
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const get = (n: string): tf.Variable => this.vars.get(n) as tf.Variable;
      const w = {} as Record<Projection, tf.Variable>;
      const b: Partial<Record<Projection, tf.Variable>> = {};
      for (const p of PROJECTIONS) {
        w[p] = get(`${projectionModule(l, p)}.weight`);
        if (hasBias(config, p)) b[p] = get(`${projectionModule(l, p)}.bias`);
      }
      this.layers.push({
        inputNorm: get(`model.layers.${l}.input_layernorm.weight`),
        postNorm: get(`model.layers.${l}.post_attention_layernorm.weight`),
        w,
        b,
        ...(hasQkNorm(config)
          ? {
              qNorm: get(`model.layers.${l}.self_attn.q_norm.weight`),
              kNorm: get(`model.layers.${l}.self_attn.k_norm.weight`),
            }
          : {}),
      });
    }
  }

  // ---- one projection: linear (+bias) (+probe), optionally recording its input ----
  private project(step: Step, l: number, p: Projection, x: tf.Tensor): tf.Tensor {
    const lw = this.layers[l];
    if (step.inputs) step.inputs.push(tf.keep(tf.clone(x)) as tf.Tensor3D);
    const y = linear(x, lw.w[p], lw.b[p], { frozen: step.frozen });
    const probe = step.probes?.[l * PROJECTIONS.length + PROJECTIONS.indexOf(p)];
    return probe ? tf.add(y, probe) : y;
  }

  // ---- attention: GQA without copying k/v heads ----
  private attention(step: Step, l: number, h: tf.Tensor): tf.Tensor {
    const c = this.config;
    const lw = this.layers[l];
    const { B, T } = step;
    const H = c.num_attention_heads;
    const KV = c.num_key_value_heads;
    const hd = c.head_dim;
    const rep = H / KV;
    const heads = (y: tf.Tensor, n: number, norm?: tf.Variable): tf.Tensor => {
      let r = tf.reshape(y, [B, T, n, hd]);
      if (norm) r = rmsNorm(r, norm, c.rms_norm_eps); // qwen3: per-head RMSNorm before RoPE
      return tf.transpose(r, [0, 2, 1, 3]); // [B, n, T, hd]
    };
    const q = applyRope(heads(this.project(step, l, 'q', h), H, lw.qNorm), step.cos, step.sin);
    const k = applyRope(heads(this.project(step, l, 'k', h), KV, lw.kNorm), step.cos, step.sin);
    const v = heads(this.project(step, l, 'v', h), KV);
    // Query head j uses kv head floor(j / rep) (HF repeat_kv). Folding the rep query heads of a group
    // into the row axis, [B·KV, rep·T, hd], lets one batched matMul serve the whole group; 3-D, so
    // batchMatMul can run it as plain 2-D matMuls on wasm.
    // Scores and probabilities live only inside one layer's forward or backward (attention.ts).
    const N = B * KV;
    const mask = step.masks.get(
      c.layer_types[l] === 'sliding_attention' ? c.sliding_window : null,
    ) as tf.Tensor;
    const ctx = attention(
      tf.reshape(q, [N, rep * T, hd]) as tf.Tensor3D,
      tf.reshape(k, [N, T, hd]) as tf.Tensor3D,
      tf.reshape(v, [N, T, hd]) as tf.Tensor3D,
      mask,
      { output: step.attentionOutput },
    ); // [B·KV, rep·T, hd]
    if (step.keepAttention) step.keepAttention.output = tf.keep(ctx);
    const merged = tf.reshape(tf.transpose(tf.reshape(ctx, [B, H, T, hd]), [0, 2, 1, 3]), [B, T, H * hd]);
    return this.project(step, l, 'o', merged);
  }

  // ---- SwiGLU MLP: down(silu(gate(x)) ⊙ up(x)) ----
  private mlp(step: Step, l: number, h: tf.Tensor): tf.Tensor {
    const g = this.project(step, l, 'gate', h);
    const u = this.project(step, l, 'up', h);
    return this.project(step, l, 'down', tf.mul(tf.mul(g, tf.sigmoid(g)), u));
  }

  // ---- pre-norm block ----
  private block(step: Step, l: number, x: tf.Tensor): tf.Tensor {
    const lw = this.layers[l];
    const eps = this.config.rms_norm_eps;
    const a = tf.add(x, this.attention(step, l, rmsNorm(x, lw.inputNorm, eps)));
    return tf.add(a, this.mlp(step, l, rmsNorm(a, lw.postNorm, eps)));
  }

  /** Embedding, blocks and final norm; then the LM head unless hiddenOnly. */
  private trunk(
    inputIds: tf.Tensor2D,
    opts: ForwardOptions,
    hiddenOnly: boolean,
  ): { out: tf.Tensor3D; captured: tf.Tensor3D[] | undefined } {
    const c = this.config;
    const [B, T] = this.checkIds(inputIds);
    this.checkProbes(opts.probes, B, T);
    const captured: tf.Tensor3D[] | undefined = opts.captureInputs ? [] : undefined;
    const out = tf.tidy(() => {
      const step = this.makeStep(B, T, opts, captured);
      const table = this.vars.get('model.embed_tokens.weight') as tf.Variable;
      let x: tf.Tensor = embed(table, inputIds);
      for (let l = 0; l < c.num_hidden_layers; l++) x = this.block(step, l, x);
      x = rmsNorm(x, this.vars.get('model.norm.weight') as tf.Variable, c.rms_norm_eps);
      if (hiddenOnly) return x as tf.Tensor3D;
      return linear(x, this.headWeight(), undefined, { frozen: step.frozen }) as tf.Tensor3D;
    });
    return { out, captured };
  }

  private checkIds(inputIds: tf.Tensor2D): [number, number] {
    const c = this.config;
    if (inputIds.rank !== 2 || inputIds.dtype !== 'int32') {
      throw new ModelError(
        'BAD_FORWARD_INPUT',
        `inputIds must be an int32 [B, T] tensor, got ${inputIds.dtype} [${inputIds.shape.join(', ')}]`,
      );
    }
    const [B, T] = inputIds.shape;
    if (T < 1 || B < 1)
      throw new ModelError('BAD_FORWARD_INPUT', `inputIds must be non-empty, got [${B}, ${T}]`);
    if (T > c.max_position_embeddings) {
      throw new ModelError(
        'BAD_FORWARD_INPUT',
        `sequence length ${T} exceeds max_position_embeddings ${c.max_position_embeddings}`,
      );
    }
    return [B, T];
  }

  /** RoPE tables and masks for one [B, T] pass (the caller disposes them, or runs this in a tidy). */
  private makeStep(B: number, T: number, opts: ForwardOptions, captured?: tf.Tensor3D[]): Step {
    const c = this.config;
    const { cos, sin } = ropeTables(this.invFreq, T);
    const masks = new Map<number | null, tf.Tensor>();
    for (const t of new Set(c.layer_types)) {
      const w = t === 'sliding_attention' ? c.sliding_window : null;
      if (!masks.has(w)) masks.set(w, tf.tensor2d(causalMask(T, w), [T, T]));
    }
    return {
      B,
      T,
      cos: tf.tensor2d(cos, [T, c.head_dim]),
      sin: tf.tensor2d(sin, [T, c.head_dim]),
      masks,
      probes: opts.probes,
      inputs: captured,
      frozen: opts.frozenWeights === true,
    };
  }

  /**
   * The model as separately callable stages (embedding, each block, final norm) for a backward pass
   * run one layer at a time (src/scorer/layerwise.ts): the caller keeps only each block's input and
   * recomputes one block under a gradient tape at a time. Dispose the stages when done.
   */
  openStages(inputIds: tf.Tensor2D): ModelStages {
    const [B, T] = this.checkIds(inputIds);
    const base = this.makeStep(B, T, { frozenWeights: true });
    const P = PROJECTIONS.length;
    return {
      layers: this.config.num_hidden_layers,
      embed: () => embed(this.vars.get('model.embed_tokens.weight') as tf.Variable, inputIds),
      block: (l, x, probeOpts = {}) => {
        let probes: tf.Tensor[] | undefined;
        if (probeOpts.probes) {
          probes = new Array<tf.Tensor>(this.config.num_hidden_layers * P);
          probeOpts.probes.forEach((p, i) => ((probes as tf.Tensor[])[l * P + i] = p));
        }
        const { inputs, keepAttention, attentionOutput } = probeOpts;
        return this.block({ ...base, probes, inputs, keepAttention, attentionOutput }, l, x) as tf.Tensor3D;
      },
      finalNorm: (x) =>
        rmsNorm(
          x,
          this.vars.get('model.norm.weight') as tf.Variable,
          this.config.rms_norm_eps,
        ) as tf.Tensor3D,
      dispose: () => tf.dispose([base.cos, base.sin, ...base.masks.values()]),
    };
  }

  /** Logits [B, T, vocab] for int32 ids [B, T] (right-padded; causal attention keeps pads invisible to real tokens). */
  forward(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
    const { out: logits, captured } = this.trunk(inputIds, opts, false);
    return captured ? { logits, projectionInputs: captured } : { logits };
  }

  /**
   * The final-norm hidden states [B, T, d] instead of logits, for losses that apply the LM head
   * themselves in chunks (src/sequence/head-loss.ts), so that [B, T, vocab] logits never exist at once.
   */
  forwardHidden(inputIds: tf.Tensor2D, opts: ForwardOptions = {}): HiddenResult {
    const { out: hidden, captured } = this.trunk(inputIds, opts, true);
    return captured ? { hidden, projectionInputs: captured } : { hidden };
  }

  /** The LM head weight [vocab, d] (the embedding table when tied). */
  headWeight(): tf.Variable {
    const table = this.vars.get('model.embed_tokens.weight') as tf.Variable;
    return this.config.tie_word_embeddings ? table : (this.vars.get('lm_head.weight') as tf.Variable);
  }

  private checkProbes(probes: tf.Tensor[] | undefined, B: number, T: number): void {
    if (!probes) return;
    const n = this.config.num_hidden_layers * PROJECTIONS.length;
    if (probes.length !== n)
      throw new ModelError('BAD_FORWARD_INPUT', `expected ${n} probes (7 per layer), got ${probes.length}`);
    probes.forEach((p, i) => {
      const out = projectionDims(this.config, PROJECTIONS[i % PROJECTIONS.length]).out;
      if (p.shape.length !== 3 || p.shape[0] !== B || p.shape[1] !== T || p.shape[2] !== out) {
        throw new ModelError(
          'BAD_FORWARD_INPUT',
          `probe ${i} has shape [${p.shape.join(', ')}], expected [${B}, ${T}, ${out}]`,
        );
      }
    });
  }

  /** The 7L projection weight variables in PRISM order (layer-major, q,k,v,o,gate,up,down). */
  projectionWeights(): tf.Variable[] {
    return this.layers.flatMap((lw) => PROJECTIONS.map((p) => lw.w[p]));
  }

  /** All trainable variables by Hugging Face name (no `lm_head.weight` when tied). */
  namedWeights(): Map<string, tf.Variable> {
    return new Map(this.vars);
  }

  projectionShape(layer: number, p: Projection): { in: number; out: number } {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.config.num_hidden_layers) {
      throw new ModelError(
        'BAD_FORWARD_INPUT',
        `layer ${layer} out of range 0..${this.config.num_hidden_layers - 1}`,
      );
    }
    return projectionDims(this.config, p);
  }

  parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  /** Copies every weight to float32 arrays (HF names). */
  async weightArrays(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.vars) out.set(name, (await v.data()) as Float32Array);
    return out;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** A random model of a built-in preset (byte tokenizer); the same seed gives the same weights. */
export function initModel(opts: { preset: Preset; arch: Arch; seed: number }): LlamaModel {
  const config = presetConfig(opts.preset, opts.arch, BYTE_VOCAB_SIZE);
  return new LlamaModel(config, randomWeights(config, opts.seed));
}
