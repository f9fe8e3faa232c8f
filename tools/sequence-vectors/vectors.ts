/**
 * Shared sequence test vectors: turns → token ids and assistant-target mask as src/sequence/build.ts
 * builds them, for the byte tokenizer and for tokenizer.json folders in each turn format (chatml,
 * llama3, plain). The committed output (tests/fixtures/sequence-vectors.json) is checked by
 * tests/unit/sequence-vectors.test.ts (TypeScript still produces it) and by
 * clients/python/tests/test_sequence_vectors.py (the Python client produces the same ids and masks).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Role, Turn } from '../../src/schemas/types.ts';
import { SequenceError } from '../../src/sequence/errors.ts';
import { buildSequence } from '../../src/sequence/build.ts';
import { ByteTokenizer, HfTokenizer, type TurnTokenizer } from '../../src/tokenizer/index.ts';

const BPE_DIR = join(import.meta.dirname, '../../tests/fixtures/golden/tokenizer-bpe');

interface TokenizerSpec {
  kind: 'byte' | 'hf';
  /** tokenizer.json contents (hf only), inline so both languages read the very same vocabulary. */
  json?: Record<string, unknown>;
}

export interface VectorCase {
  name: string;
  tokenizer: string | null;
  vocabSize: number;
  maxSeqLen: number;
  turns: Turn[];
  expect:
    | { ids: number[]; isTarget: number[]; targetCount: number; truncated: boolean; fullLength: number }
    | { error: string };
}

export interface SequenceVectors {
  format: 1;
  note: string;
  tokenizers: Record<string, TokenizerSpec>;
  cases: VectorCase[];
}

type TokJson = { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number> } };

/** The BPE fixture with its special tokens renamed, so the same vocabulary exercises another turn format. */
function renamed(
  base: TokJson,
  names: Record<string, string>,
  extra: string[] = [],
): Record<string, unknown> {
  const out = structuredClone(base);
  for (const t of out.added_tokens) {
    const to = names[t.content];
    if (to === undefined) continue;
    const id = out.model.vocab[t.content];
    if (id !== undefined) {
      delete out.model.vocab[t.content];
      out.model.vocab[to] = id;
    }
    t.content = to;
  }
  let next = Math.max(...out.added_tokens.map((t) => t.id), ...Object.values(out.model.vocab)) + 1;
  for (const content of extra) {
    out.added_tokens.push({
      ...out.added_tokens[0],
      id: next,
      content,
    });
    out.model.vocab[content] = next++;
  }
  return out as unknown as Record<string, unknown>;
}

function tokenizerSpecs(): Record<string, TokenizerSpec> {
  const bpe = JSON.parse(readFileSync(join(BPE_DIR, 'tokenizer.json'), 'utf8')) as TokJson;
  return {
    byte: { kind: 'byte' },
    chatml: { kind: 'hf', json: bpe as unknown as Record<string, unknown> },
    llama3: {
      kind: 'hf',
      json: renamed(
        bpe,
        {
          '<|endoftext|>': '<|begin_of_text|>',
          '<|im_start|>': '<|start_header_id|>',
          '<|im_end|>': '<|end_header_id|>',
        },
        ['<|eot_id|>'],
      ),
    },
    plain: {
      kind: 'hf',
      json: renamed(bpe, { '<|im_start|>': '<|turn_a|>', '<|im_end|>': '<|turn_b|>' }),
    },
  };
}

const t = (role: Role, content: string, token_ids: number[] | null = null): Turn => ({
  role,
  content,
  token_ids,
  logprobs: null,
});

const CONVERSATIONS: Record<string, Turn[]> = {
  basic: [t('user', 'put the apple in the fridge'), t('assistant', 'go to fridge 1. open it. put apple.')],
  multi: [
    t('system', 'You are a careful agent.'),
    t('user', 'Find a mug.'),
    t('assistant', 'look around'),
    t('observation', 'You see a mug on the table.'),
    t('tool', '{"ok": true}'),
    t('assistant', 'take mug from table'),
  ],
  unicode: [t('user', 'Grüße, 世界! 🚀\n\ttabs'), t('assistant', 'ça va — ✓ naïve café 😀')],
  emptyAssistant: [t('user', 'say nothing'), t('assistant', '')],
  assistantFirst: [t('assistant', 'hello'), t('user', 'hi')],
  noAssistant: [t('user', 'only a user turn'), t('system', 'and a system turn')],
};

function expectOf(turns: Turn[], tok: TurnTokenizer | null, vocabSize: number, maxSeqLen: number) {
  try {
    const s = buildSequence(turns, { tokenizer: tok, vocabSize, maxSeqLen });
    return {
      ids: Array.from(s.ids),
      isTarget: Array.from(s.isTarget),
      targetCount: s.targetCount,
      truncated: s.truncated,
      fullLength: s.fullLength,
    };
  } catch (err) {
    if (err instanceof SequenceError) return { error: err.code };
    throw err;
  }
}

function tokenizerOf(spec: TokenizerSpec): TurnTokenizer {
  return spec.kind === 'byte' ? new ByteTokenizer() : new HfTokenizer(spec.json ?? {});
}

/** Every case, computed by the TypeScript implementation. */
export function buildVectors(): SequenceVectors {
  const tokenizers = tokenizerSpecs();
  const cases: VectorCase[] = [];
  const add = (name: string, tokName: string | null, turns: Turn[], maxSeqLen: number, vocab?: number) => {
    const tok = tokName === null ? null : tokenizerOf(tokenizers[tokName]);
    const vocabSize = vocab ?? tok?.vocabSize ?? 264;
    cases.push({
      name,
      tokenizer: tokName,
      vocabSize,
      maxSeqLen,
      turns,
      expect: expectOf(turns, tok, vocabSize, maxSeqLen),
    });
  };
  for (const tokName of Object.keys(tokenizers)) {
    for (const [conv, turns] of Object.entries(CONVERSATIONS)) add(`${tokName}/${conv}`, tokName, turns, 256);
    add(`${tokName}/truncated`, tokName, CONVERSATIONS.multi, 100);
    add(`${tokName}/truncated-before-assistant`, tokName, CONVERSATIONS.multi, 24);
  }
  const given = [t('user', 'ignored text', [5, 6, 7]), t('assistant', 'also ignored', [8, 9, 10, 11])];
  add('token-ids/as-given', null, given, 64, 100);
  add('token-ids/mixed-with-text', 'byte', [t('user', 'hi'), t('assistant', 'x', [104, 105, 258])], 64);
  add('token-ids/out-of-vocab', null, [t('user', '', [1]), t('assistant', '', [2, 100])], 64, 100);
  add('token-ids/no-tokenizer-for-text', null, [t('user', 'text only'), t('assistant', '', [3])], 64, 100);
  add('token-ids/first-token-never-target', null, [t('assistant', '', [1, 2, 3])], 64, 100);
  return {
    format: 1,
    note: 'Generated by `npx tsx tools/sequence-vectors/make.ts` from src/sequence and src/tokenizer. Do not edit.',
    tokenizers,
    cases,
  };
}
