/**
 * Which tokenizer a model folder uses: prism's byte tokenizer when config.json says
 * `"prism_tokenizer": "byte"`, else tokenizer.json (+ tokenizer_config.json) through @huggingface/tokenizers,
 * else none (then only trajectories whose turns all carry token_ids can be scored).
 */
import { readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.ts';
import { ModelError } from '../model/errors.ts';
import { ByteTokenizer } from './byte.ts';
import { HfTokenizer } from './hf.ts';
import type { TurnTokenizer } from './types.ts';

export { ByteTokenizer, BYTE_VOCAB_SIZE, BYTE_SPECIAL_TOKENS, byteSpecialId } from './byte.ts';
export { HfTokenizer, type TurnFormat } from './hf.ts';
export type { TurnTokenizer, TurnTokens } from './types.ts';

async function readJsonIfExists(path: string): Promise<object | null> {
  try {
    await access(path);
  } catch {
    return null;
  }
  try {
    return JSON.parse(await readFile(path, 'utf8')) as object;
  } catch (err) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function loadTokenizer(
  dir: string,
  config: Pick<ModelConfig, 'prism_tokenizer'>,
): Promise<TurnTokenizer | null> {
  if (config.prism_tokenizer === 'byte') return new ByteTokenizer();
  const json = await readJsonIfExists(join(dir, 'tokenizer.json'));
  if (json === null) return null;
  const cfg = (await readJsonIfExists(join(dir, 'tokenizer_config.json'))) ?? {};
  try {
    return new HfTokenizer(json, cfg);
  } catch (err) {
    throw new ModelError(
      'MODEL_CONFIG_INVALID',
      `${join(dir, 'tokenizer.json')} cannot be used: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
