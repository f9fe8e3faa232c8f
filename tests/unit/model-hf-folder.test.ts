import { describe, expect, it } from 'vitest';
import { configToJson, presetConfig } from '../../src/model/config.ts';
import { ModelError } from '../../src/model/errors.ts';
import {
  encodeModelFolder,
  parseConfigText,
  parseWeightMap,
  shardNames,
  specsByFile,
  takeTensors,
} from '../../src/model/hf-folder.ts';
import { randomWeights } from '../../src/model/init.ts';
import { parseSafetensors } from '../../src/model/safetensors.ts';
import { weightSpecs } from '../../src/model/weights.ts';

// The pure half of model folders: bytes and texts in, checked values out (no files touched).
const config = presetConfig('tiny', 'llama', 264);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return err instanceof ModelError ? err.code : `not a ModelError: ${String(err)}`;
  }
  return 'no error';
}

describe('hf-folder (pure model folder format)', () => {
  it('encodes a folder that parses back to the same config and bit-identical weights', () => {
    const weights = randomWeights(config, 7);
    const encoded = encodeModelFolder(config, weights);
    expect(configToJson(parseConfigText(encoded.config, 'config.json'))).toEqual(configToJson(config));
    const back = new Map<string, Float32Array>();
    const specs = weightSpecs(config);
    takeTensors(parseSafetensors(encoded.weights, 'w'), specs, 'w', back);
    expect(back.size).toBe(specs.length);
    for (const s of specs)
      expect(Buffer.from(back.get(s.name)!.buffer)).toEqual(Buffer.from(weights.get(s.name)!.buffer));
  });

  it('refuses to encode a folder with a tensor missing', () => {
    const weights = randomWeights(config, 7);
    weights.delete('model.norm.weight');
    expect(codeOf(() => encodeModelFolder(config, weights))).toBe('MISSING_TENSOR');
  });

  it('names the file and both shapes on a shape mismatch', () => {
    const encoded = encodeModelFolder(config, randomWeights(config, 1));
    const st = parseSafetensors(encoded.weights, 'w');
    const wrong = { ...weightSpecs(config)[0]!, shape: [1, 2] };
    expect(() => takeTensors(st, [wrong], 'shard-1', new Map())).toThrow(
      /shard-1: tensor .* has shape \[.*\], config.json implies \[1, 2\]/,
    );
  });

  it('groups tensors by the shard that holds them and reports unlisted ones', () => {
    const map = parseWeightMap({ weight_map: { a: 's1', b: 's2', c: 's1' } }, 'index');
    expect(shardNames(map)).toEqual(['s1', 's2']);
    const byFile = specsByFile(config, (name) => (name.includes('layers.0.') ? 'first' : 'rest'), 'dir');
    expect([...byFile.keys()].sort()).toEqual(['first', 'rest']);
    expect(codeOf(() => specsByFile(config, () => undefined, 'dir'))).toBe('MISSING_TENSOR');
  });

  it('rejects bad JSON and an index without weight_map with MODEL_CONFIG_INVALID', () => {
    expect(codeOf(() => parseConfigText('{', 'config.json'))).toBe('MODEL_CONFIG_INVALID');
    expect(codeOf(() => parseWeightMap({}, 'index'))).toBe('MODEL_CONFIG_INVALID');
    expect(codeOf(() => parseWeightMap(null, 'index'))).toBe('MODEL_CONFIG_INVALID');
  });
});
