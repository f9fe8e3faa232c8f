/**
 * The tfjs model reproduces Hugging Face transformers numerically (fp32, cpu backend).
 *
 * Fixtures in tests/fixtures/golden/<case>/ were produced by
 *   /work/.venv-golden/bin/python tools/golden/make_golden.py
 * with Python 3.11.7, torch 2.15.0, transformers 5.23.0, safetensors 0.8.0, tokenizers 0.23.3
 * (venv outside the repo: `python3 -m venv /work/.venv-golden && /work/.venv-golden/bin/pip install torch transformers safetensors`;
 * exact versions are also recorded in each expected.json). Each case is a tiny random LlamaForCausalLM /
 * Qwen2ForCausalLM / Qwen3ForCausalLM / MistralForCausalLM saved with save_pretrained (fp32, bf16, fp16,
 * sharded), and the reference logits, masked loss and per-projection weight-gradient norms come from
 * transformers running that saved folder in fp32 with eager attention.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LlamaModel } from '../../src/model/llama.ts';
import { loadModel } from '../../src/model-store/llama.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { perExampleLoss } from '../../src/sequence/loss.ts';

const ROOT = join(import.meta.dirname, '../fixtures/golden');
const CASES = ['llama', 'llama3-rope-tied-bf16', 'qwen2-sharded', 'qwen3-fp16', 'mistral-sliding'];
const TOL = 1e-4;

interface Expected {
  model_type: string;
  input_ids: number[][];
  target_mask: number[][];
  loss: number[];
  grad_norms_seq0: number[];
}

/** max |a − b| / max |b|: relative to the reference's scale, so near-zero entries do not dominate. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Right-pads the sequences into one [B, T] batch, as the scorer does. */
function padded(seqs: number[][]): { ids: tf.Tensor2D; T: number } {
  const T = Math.max(...seqs.map((s) => s.length));
  const flat = new Int32Array(seqs.length * T);
  seqs.forEach((s, b) => flat.set(s, b * T));
  return { ids: tf.tensor2d(flat, [seqs.length, T], 'int32'), T };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CASES)('golden %s', (name) => {
  const dir = join(ROOT, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  const reference = parseSafetensors(readFileSync(join(dir, 'logits.safetensors')));
  let model: LlamaModel;

  beforeAll(async () => {
    model = await loadModel(join(dir, 'model'));
  });

  it('loads the transformers folder with the right variant', () => {
    expect(model.config.model_type).toBe(expected.model_type);
    expect(model.projectionWeights()).toHaveLength(7 * model.config.num_hidden_layers);
  });

  it('matches transformers logits within 1e-4 relative error on a right-padded batch', async () => {
    const { ids, T } = padded(expected.input_ids);
    const logits = model.forward(ids).logits;
    const all = await logits.data();
    const V = model.config.vocab_size;
    expected.input_ids.forEach((seq, b) => {
      const ref = reference.read(`logits.${b}`);
      const ours = all.subarray(b * T * V, (b * T + seq.length) * V);
      const err = relErr(ours, ref);
      // Printed so the report can quote the achieved error.
      console.log(`golden ${name} seq ${b}: max rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(TOL);
    });
    tf.dispose([ids, logits]);
  });

  it('matches the transformers masked next-token loss', () => {
    const { ids, T } = padded(expected.input_ids);
    const B = expected.input_ids.length;
    const targets = new Int32Array(B * T);
    const mask = new Float32Array(B * T);
    expected.input_ids.forEach((seq, b) => {
      for (let p = 1; p < seq.length; p++) {
        if (expected.target_mask[b][p]) {
          targets[b * T + p - 1] = seq[p];
          mask[b * T + p - 1] = 1;
        }
      }
    });
    const loss = tf.tidy(() =>
      perExampleLoss(
        model.forward(ids).logits,
        tf.tensor2d(targets, [B, T], 'int32'),
        tf.tensor2d(mask, [B, T]),
      ).dataSync(),
    );
    expect(relErr(loss, expected.loss)).toBeLessThan(TOL);
    ids.dispose();
  });

  it('matches transformers per-projection weight-gradient norms (backward pass)', () => {
    const seq = expected.input_ids[0];
    const T = seq.length;
    const ids = tf.tensor2d(Int32Array.from(seq), [1, T], 'int32');
    const targets = new Int32Array(T);
    const mask = new Float32Array(T);
    for (let p = 1; p < T; p++) {
      if (expected.target_mask[0][p]) {
        targets[p - 1] = seq[p];
        mask[p - 1] = 1;
      }
    }
    const weights = model.projectionWeights();
    const norms = tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () =>
          tf.sum(
            perExampleLoss(
              model.forward(ids).logits,
              tf.tensor2d(targets, [1, T], 'int32'),
              tf.tensor2d(mask, [1, T]),
            ),
          ),
        weights,
      );
      return weights.map((w) => tf.norm(grads[w.name]).dataSync()[0]);
    });
    const err = relErr(norms, expected.grad_norms_seq0);
    console.log(`golden ${name} grad norms: max rel err ${err.toExponential(2)}`);
    expect(err).toBeLessThan(TOL);
    ids.dispose();
  });
});
