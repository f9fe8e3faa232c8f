/**
 * tokenizer.json folders tokenize like the Rust `tokenizers` library. The fixture
 * (tests/fixtures/golden/tokenizer-bpe) is a byte-level BPE with Qwen2's split regex, trained and encoded by
 * tokenizers 0.23.3 in tools/golden/make_golden.py.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HfTokenizer, loadTokenizer } from '../../src/tokenizer/index.ts';

const DIR = join(import.meta.dirname, '../fixtures/golden/tokenizer-bpe');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  vocab_size: number;
  samples: { text: string; ids: number[] }[];
};
const tokenizerJson = JSON.parse(readFileSync(join(DIR, 'tokenizer.json'), 'utf8')) as object;

describe('HfTokenizer', () => {
  const tok = new HfTokenizer(tokenizerJson, {});

  it.each(expected.samples.map((s) => [JSON.stringify(s.text), s] as const))(
    'encodes %s to the ids the Rust library gives',
    (_, s) => {
      expect(tok.encodeText(s.text)).toEqual(s.ids);
    },
  );

  it('reports the vocabulary size including added tokens', () => {
    expect(tok.vocabSize).toBe(expected.vocab_size);
  });

  it('formats turns as ChatML when the vocabulary has <|im_start|>', () => {
    expect(tok.format).toBe('chatml');
    const turns = [tok.encodeTurn('user', 'Hi there', 0), tok.encodeTurn('assistant', 'Hello world!', 1)];
    const text = turns.map((t) => tok.decode([...t.prefix, ...t.body])).join('');
    expect(text).toBe('<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello world!<|im_end|>');
    expect(tok.decode(turns[1].body)).toBe('Hello world!<|im_end|>');
  });

  it('falls back to plain "role: content" turns without chat special tokens', () => {
    const plain = JSON.parse(JSON.stringify(tokenizerJson)) as {
      added_tokens: { content: string }[];
      model: { vocab: Record<string, number> };
    };
    plain.added_tokens = plain.added_tokens.filter((t) => !t.content.startsWith('<|im_'));
    delete plain.model.vocab['<|im_start|>'];
    delete plain.model.vocab['<|im_end|>'];
    const t = new HfTokenizer(plain, {});
    expect(t.format).toBe('plain');
    const turn = t.encodeTurn('assistant', 'ok', 1);
    expect(t.decode(turn.prefix)).toBe('\n\nassistant: ');
    expect(t.decode(turn.body)).toBe('ok');
  });
});

describe('loadTokenizer', () => {
  it('picks the byte tokenizer from config.json, tokenizer.json otherwise, and null when there is none', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'prism-tok-'));
    try {
      expect((await loadTokenizer(tmp, { prism_tokenizer: 'byte' }))?.kind).toBe('byte');
      expect(await loadTokenizer(tmp, {})).toBeNull();
      await writeFile(join(tmp, 'tokenizer.json'), JSON.stringify(tokenizerJson));
      const hf = await loadTokenizer(tmp, {});
      expect(hf?.kind).toBe('hf');
      expect(hf?.encodeText('Hello world!')).toEqual(expected.samples[0].ids);
      await writeFile(join(tmp, 'tokenizer.json'), '{not json');
      await expect(loadTokenizer(tmp, {})).rejects.toMatchObject({ code: 'MODEL_CONFIG_INVALID' });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('finds the tokenizer.json shipped in a Hugging Face model folder', async () => {
    const tok = await loadTokenizer(join(import.meta.dirname, '../fixtures/golden/qwen2-sharded/model'), {});
    expect(tok?.kind).toBe('hf');
  });
});
