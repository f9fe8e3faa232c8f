import { describe, expect, it } from 'vitest';
import { RECORD_REASON_CODES } from '../../src/schemas/errors.ts';
import type { Turn } from '../../src/schemas/types.ts';
import { buildSequence } from '../../src/sequence/build.ts';
import { SequenceError } from '../../src/sequence/errors.ts';
import { ByteTokenizer } from '../../src/tokenizer/byte.ts';

const tokenizer = new ByteTokenizer();
const V = 300;

function text(role: Turn['role'], content: string): Turn {
  return { role, content, token_ids: null, logprobs: null };
}

/** Tokenized length of a text-only record with no bound (what maxTokens is compared with). */
function lengthOf(turns: Turn[]): number {
  return buildSequence(turns, { tokenizer, vocabSize: V, maxSeqLen: 1_000_000 }).fullLength;
}

function errorOf(fn: () => unknown): SequenceError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SequenceError) return err;
    throw err;
  }
  throw new Error('expected a SequenceError, nothing was thrown');
}

describe('buildSequence maxTokens (input.limits.maxTokens)', () => {
  const turns = [text('user', 'what is two plus two?'), text('assistant', 'four, as it happens')];
  const n = lengthOf(turns);

  it('a text-only record over the limit is TOO_MANY_TOKENS, a record reason code', () => {
    expect(n).toBeGreaterThan(10);
    const err = errorOf(() =>
      buildSequence(turns, { tokenizer, vocabSize: V, maxSeqLen: 4096, maxTokens: n - 1 }),
    );
    expect(err.code).toBe('TOO_MANY_TOKENS');
    expect(RECORD_REASON_CODES).toContain(err.code);
    expect(err.message).toContain(`input.limits.maxTokens=${n - 1}`);
  });

  it('the bound is the length before truncation to maxSeqLen', () => {
    const err = errorOf(() =>
      buildSequence(turns, { tokenizer, vocabSize: V, maxSeqLen: 4, maxTokens: n - 1 }),
    );
    expect(err.code).toBe('TOO_MANY_TOKENS');
  });

  it('a text-only record at or under the limit builds as without a limit', () => {
    const unbounded = buildSequence(turns, { tokenizer, vocabSize: V, maxSeqLen: 4096 });
    const atLimit = buildSequence(turns, { tokenizer, vocabSize: V, maxSeqLen: 4096, maxTokens: n });
    expect(Array.from(atLimit.ids)).toEqual(Array.from(unbounded.ids));
    expect(atLimit.targetCount).toBe(unbounded.targetCount);
  });

  it('token_ids and tokenized text turns count together', () => {
    const mixed: Turn[] = [
      { role: 'user', content: '', token_ids: [1, 2, 3, 4, 5], logprobs: null },
      text('assistant', 'ok'),
    ];
    const m = lengthOf(mixed);
    expect(m).toBeGreaterThan(5);
    expect(
      errorOf(() => buildSequence(mixed, { tokenizer, vocabSize: V, maxSeqLen: 64, maxTokens: m - 1 })).code,
    ).toBe('TOO_MANY_TOKENS');
    expect(buildSequence(mixed, { tokenizer, vocabSize: V, maxSeqLen: 64, maxTokens: m }).fullLength).toBe(m);
  });
});
