import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readFile, rm, writeFile, copyFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configToJson, parseModelConfig, presetConfig } from '../../src/model/config.ts';
import { ModelError } from '../../src/model/errors.ts';
import { initModel, type LlamaModel } from '../../src/model/llama.ts';
import { readModelFolder } from '../../src/model-store/folder.ts';
import { loadModel, saveModel } from '../../src/model-store/llama.ts';
import { encodeSafetensors, parseSafetensors } from '../../src/model/safetensors.ts';
import { weightSpecs } from '../../src/model/weights.ts';

const GOLDEN = join(import.meta.dirname, '../fixtures/golden');
let tmp: string;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof ModelError ? err.code : `not a ModelError: ${String(err)}`;
  }
  return 'no error';
}

function logitsOf(m: LlamaModel, ids: number[]): Float32Array {
  return tf.tidy(
    () =>
      m
        .forward(tf.tensor2d(Int32Array.from(ids), [1, ids.length], 'int32'))
        .logits.dataSync() as Float32Array,
  );
}

/** Bitwise equality of float arrays (vitest's deep equality is slow on 200k-element typed arrays). */
function sameBits(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    )
  );
}

/** A folder whose config.json is the given object and whose weights are a fresh random tiny model. */
async function folderWith(name: string, edit: (cfg: Record<string, unknown>) => void): Promise<string> {
  const dir = join(tmp, name);
  const m = initModel({ preset: 'tiny', arch: 'llama', seed: 1 });
  await saveModel(m, dir);
  m.dispose();
  const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(cfg);
  await writeFile(join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'prism-model-io-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('model folders', () => {
  it.each(['llama', 'qwen2', 'qwen3', 'mistral'] as const)(
    'saves and reloads a %s model with identical weights and logits',
    async (arch) => {
      const m = initModel({ preset: 'tiny', arch, seed: 5 });
      const dir = join(tmp, `rt-${arch}`);
      await saveModel(m, dir);
      const back = await loadModel(dir);
      const a = await m.weightArrays();
      const b = await back.weightArrays();
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [name, data] of a) expect(sameBits(b.get(name), data), name).toBe(true);
      const ids = [259, 72, 105, 258, 261, 79, 107, 258];
      expect(sameBits(logitsOf(back, ids), logitsOf(m, ids))).toBe(true);
      expect(back.config.prism_tokenizer).toBe('byte');
      m.dispose();
      back.dispose();
    },
  );

  it('writes Hugging Face tensor names, fp32, and no lm_head when embeddings are tied', async () => {
    const dir = join(GOLDEN, 'llama3-rope-tied-bf16/model');
    const m = await loadModel(dir);
    const out = join(tmp, 'tied');
    await saveModel(m, out);
    const file = parseSafetensors(await readFile(join(out, 'model.safetensors')));
    expect(file.entries.has('lm_head.weight')).toBe(false);
    expect(file.entries.get('model.layers.1.self_attn.q_proj.weight')).toMatchObject({
      dtype: 'F32',
      shape: [64, 64],
    });
    expect([...file.entries.values()].every((e) => e.dtype === 'F32')).toBe(true);
    // bf16 → fp32 widening is exact, so the re-saved fp32 copy gives the same logits.
    const back = await loadModel(out);
    expect(sameBits(logitsOf(back, [1, 2, 3, 4]), logitsOf(m, [1, 2, 3, 4]))).toBe(true);
    m.dispose();
    back.dispose();
  });

  it('copies tokenizer files along when saving a model loaded from a folder', async () => {
    const m = await loadModel(join(GOLDEN, 'qwen2-sharded/model'));
    const out = join(tmp, 'with-tokenizer');
    await saveModel(m, out);
    await expect(access(join(out, 'tokenizer.json'))).resolves.toBeUndefined();
    m.dispose();
  });

  it('loads sharded folders through model.safetensors.index.json', async () => {
    const { config, weights } = await readModelFolder(join(GOLDEN, 'qwen2-sharded/model'));
    expect(config.model_type).toBe('qwen2');
    expect([...weights.keys()].sort()).toEqual(
      weightSpecs(config)
        .map((s) => s.name)
        .sort(),
    );
  });

  it('round-trips the normalized config through config.json', () => {
    for (const arch of ['llama', 'qwen2', 'qwen3', 'mistral'] as const) {
      const c = presetConfig('small', arch, 264);
      const { raw: _a, ...again } = parseModelConfig(configToJson(c));
      const { raw: _b, ...orig } = c;
      expect(again).toEqual(orig);
    }
    const llama3 = parseModelConfig({
      ...configToJson(presetConfig('tiny', 'llama', 264)),
      rope_parameters: undefined,
      rope_scaling: {
        type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 512,
      },
    });
    expect(parseModelConfig(configToJson(llama3)).rope_scaling).toEqual(llama3.rope_scaling);
  });
});

describe('model folder errors', () => {
  it('reports a missing folder or weight file as MODEL_FILE_MISSING', async () => {
    expect(await codeOf(loadModel(join(tmp, 'nope')))).toBe('MODEL_FILE_MISSING');
    const dir = await folderWith('no-weights', () => {});
    await rm(join(dir, 'model.safetensors'));
    expect(await codeOf(loadModel(dir))).toBe('MODEL_FILE_MISSING');
  });

  it('rejects an unknown model_type with UNKNOWN_MODEL_TYPE', async () => {
    const dir = await folderWith('gpt2', (c) => {
      c.model_type = 'gpt2';
    });
    expect(await codeOf(loadModel(dir))).toBe('UNKNOWN_MODEL_TYPE');
  });

  it('rejects unsupported RoPE types and activations with UNSUPPORTED_MODEL_FEATURE', async () => {
    const yarn = await folderWith('yarn', (c) => {
      c.rope_scaling = { rope_type: 'yarn', factor: 4 };
      delete c.rope_parameters;
    });
    expect(await codeOf(loadModel(yarn))).toBe('UNSUPPORTED_MODEL_FEATURE');
    const gelu = await folderWith('gelu', (c) => {
      c.hidden_act = 'gelu';
    });
    expect(await codeOf(loadModel(gelu))).toBe('UNSUPPORTED_MODEL_FEATURE');
  });

  it('names the tensor on a shape mismatch', async () => {
    const dir = await folderWith('wide', (c) => {
      c.intermediate_size = 100;
    });
    await expect(loadModel(dir)).rejects.toThrow(
      /"model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[172, 64\], config\.json implies \[100, 64\]/,
    );
    expect(await codeOf(loadModel(dir))).toBe('SHAPE_MISMATCH');
  });

  it('names a missing tensor with MISSING_TENSOR', async () => {
    const dir = await folderWith('untied', (c) => {
      c.num_hidden_layers = 5;
      c.layer_types = undefined;
    });
    await expect(loadModel(dir)).rejects.toThrow(/model\.layers\.4\./);
    expect(await codeOf(loadModel(dir))).toBe('MISSING_TENSOR');
  });

  it('rejects integer weights with UNSUPPORTED_DTYPE', async () => {
    const dir = join(tmp, 'int-weights');
    const src = await folderWith('int-src', () => {});
    const { config, weights } = await readModelFolder(src);
    const tensors = weightSpecs(config).map((s) => ({
      name: s.name,
      shape: s.shape,
      data: weights.get(s.name) as Float32Array,
    }));
    // Re-encode as F32, then relabel one tensor as I32 (same byte size): a dtype the loader must refuse.
    const bytes = encodeSafetensors(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = new TextDecoder()
      .decode(bytes.subarray(8, 8 + n))
      .replace(/("model\.norm\.weight":\{"dtype":)"F32"/, '$1"I32"');
    bytes.set(new TextEncoder().encode(header), 8);
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    await copyFile(join(src, 'config.json'), join(dir, 'config.json'));
    await writeFile(join(dir, 'model.safetensors'), bytes);
    await expect(loadModel(dir)).rejects.toThrow(/model\.norm\.weight.*I32/);
    expect(await codeOf(loadModel(dir))).toBe('UNSUPPORTED_DTYPE');
  });
});
