import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Role, Turn } from '../../src/schemas/types.ts';
import { buildSequence } from '../../src/sequence/build.ts';
import { SequenceError } from '../../src/sequence/errors.ts';
import { ByteTokenizer, byteSpecialId } from '../../src/tokenizer/byte.ts';

const V = 300;
const roles: Role[] = ['system', 'user', 'assistant', 'tool', 'observation'];

const tokenTurn = fc.record({
  role: fc.constantFrom(...roles),
  token_ids: fc.array(fc.integer({ min: 0, max: V - 1 }), { maxLength: 12 }),
});
const trajectory = fc
  .array(tokenTurn, { minLength: 1, maxLength: 6 })
  .map((ts) => ts.map((t): Turn => ({ role: t.role, content: '', token_ids: t.token_ids, logprobs: null })));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof SequenceError ? err.code : `not a SequenceError: ${String(err)}`;
  }
  return 'no error';
}

/** The reference rule, spelled out: owner role of every token of the untruncated sequence. */
function owners(turns: Turn[]): Role[] {
  return turns.flatMap((t) => (t.token_ids ?? []).map(() => t.role));
}

describe('buildSequence', () => {
  it('concatenates token_ids and marks exactly the assistant tokens at p ≥ 1 within max_seq_len', () => {
    fc.assert(
      fc.property(trajectory, fc.integer({ min: 2, max: 40 }), (turns, maxSeqLen) => {
        const all = turns.flatMap((t) => t.token_ids ?? []);
        const own = owners(turns);
        const n = Math.min(all.length, maxSeqLen);
        const expectedTargets = own.slice(0, n).map((r, p) => (p >= 1 && r === 'assistant' ? 1 : 0));
        const count = expectedTargets.reduce<number>((a, b) => a + b, 0);
        if (count === 0) {
          expect(codeOf(() => buildSequence(turns, { tokenizer: null, vocabSize: V, maxSeqLen }))).toBe(
            'NO_TARGET_TOKENS',
          );
          return;
        }
        const s = buildSequence(turns, { tokenizer: null, vocabSize: V, maxSeqLen });
        expect(Array.from(s.ids)).toEqual(all.slice(0, n));
        expect(Array.from(s.isTarget)).toEqual(expectedTargets);
        expect(s.targetCount).toBe(count);
        expect(s.truncated).toBe(all.length > maxSeqLen);
        expect(s.fullLength).toBe(all.length);
      }),
      { numRuns: 300 },
    );
  });

  it('raises NO_TARGET_TOKENS when truncation removes every assistant token', () => {
    const turns: Turn[] = [
      { role: 'user', content: '', token_ids: [1, 2, 3, 4], logprobs: null },
      { role: 'assistant', content: '', token_ids: [5, 6], logprobs: null },
    ];
    expect(buildSequence(turns, { tokenizer: null, vocabSize: V, maxSeqLen: 5 }).targetCount).toBe(1);
    expect(codeOf(() => buildSequence(turns, { tokenizer: null, vocabSize: V, maxSeqLen: 4 }))).toBe(
      'NO_TARGET_TOKENS',
    );
  });

  it('does not count an assistant token at position 0 as a target', () => {
    const turns: Turn[] = [{ role: 'assistant', content: '', token_ids: [7], logprobs: null }];
    expect(codeOf(() => buildSequence(turns, { tokenizer: null, vocabSize: V, maxSeqLen: 8 }))).toBe(
      'NO_TARGET_TOKENS',
    );
  });

  it('rejects any id outside [0, vocab) with TOKEN_OUT_OF_VOCAB, even beyond max_seq_len', () => {
    fc.assert(
      fc.property(
        trajectory,
        fc.oneof(fc.integer({ min: V, max: 1e6 }), fc.integer({ min: -1e6, max: -1 }), fc.constant(1.5)),
        (turns, bad) => {
          const t = turns.length - 1;
          const withBad = turns.map((x, i) =>
            i === t ? { ...x, token_ids: [...(x.token_ids ?? []), bad] } : x,
          );
          expect(codeOf(() => buildSequence(withBad, { tokenizer: null, vocabSize: V, maxSeqLen: 2 }))).toBe(
            'TOKEN_OUT_OF_VOCAB',
          );
        },
      ),
    );
  });

  it('tokenizes text-only turns: role marker is never a target, assistant content and <|end|> are', () => {
    const tok = new ByteTokenizer();
    const turns: Turn[] = [
      { role: 'user', content: 'hi', token_ids: null, logprobs: null },
      { role: 'assistant', content: 'yo', token_ids: null, logprobs: null },
    ];
    const s = buildSequence(turns, { tokenizer: tok, vocabSize: tok.vocabSize, maxSeqLen: 64 });
    const A = byteSpecialId('<|assistant|>');
    const U = byteSpecialId('<|user|>');
    const E = byteSpecialId('<|end|>');
    expect(Array.from(s.ids)).toEqual([U, 104, 105, E, A, 121, 111, E]);
    expect(Array.from(s.isTarget)).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it('mixes turns with token_ids and text turns in order', () => {
    const tok = new ByteTokenizer();
    const turns: Turn[] = [
      { role: 'user', content: 'ignored when token_ids are given', token_ids: [1, 2], logprobs: null },
      { role: 'assistant', content: 'a', token_ids: null, logprobs: null },
    ];
    const s = buildSequence(turns, { tokenizer: tok, vocabSize: tok.vocabSize, maxSeqLen: 64 });
    expect(Array.from(s.ids)).toEqual([1, 2, byteSpecialId('<|assistant|>'), 97, byteSpecialId('<|end|>')]);
  });

  it('raises TOKENIZER_UNAVAILABLE for a text turn when the model has no tokenizer', () => {
    const turns: Turn[] = [{ role: 'assistant', content: 'x', token_ids: null, logprobs: null }];
    expect(codeOf(() => buildSequence(turns, { tokenizer: null, vocabSize: V, maxSeqLen: 8 }))).toBe(
      'TOKENIZER_UNAVAILABLE',
    );
  });

  it('rejects tokenizer output beyond the model vocabulary with TOKEN_OUT_OF_VOCAB', () => {
    const tok = new ByteTokenizer(); // emits ids up to 263
    const turns: Turn[] = [{ role: 'assistant', content: 'x', token_ids: null, logprobs: null }];
    expect(codeOf(() => buildSequence(turns, { tokenizer: tok, vocabSize: 200, maxSeqLen: 8 }))).toBe(
      'TOKEN_OUT_OF_VOCAB',
    );
  });
});
