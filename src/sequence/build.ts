/**
 * One trajectory → one token sequence plus its target mask, the rule every scorer and trainer shares:
 *
 * - the sequence is the concatenation of the turns in order; a turn with token_ids contributes exactly
 *   those ids (the producer already applied its chat format), a text-only turn is tokenized as
 *   prefix (role header) + body (content + end-of-turn marker), see src/tokenizer;
 * - token p is a target iff p ≥ 1 and it belongs to an assistant turn (the body, for text turns);
 * - sequences longer than maxSeqLen keep their first maxSeqLen tokens (`truncated`);
 * - no target left → SequenceError NO_TARGET_TOKENS; an id outside [0, vocabSize) anywhere in the
 *   record → TOKEN_OUT_OF_VOCAB, so a bad id never reaches the model;
 * - more tokens in the whole record (token_ids plus tokenized text turns, before truncation) than
 *   maxTokens (input.limits.maxTokens) → TOO_MANY_TOKENS, the record reason code validate.ts uses
 *   for token_ids (it cannot see the tokenized length of text-only turns).
 */
import type { Turn } from '../schemas/types.ts';
import type { TurnTokenizer } from '../tokenizer/types.ts';
import { SequenceError } from './errors.ts';

export interface BuiltSequence {
  ids: Int32Array;
  /** 1 where the token is a target (p ≥ 1, assistant). Same length as ids. */
  isTarget: Uint8Array;
  /** Number of targets (the paper's response tokens). */
  targetCount: number;
  truncated: boolean;
  /** Length before truncation. */
  fullLength: number;
}

export interface BuildOptions {
  /** Needed only when some turn has no token_ids. */
  tokenizer: TurnTokenizer | null;
  vocabSize: number;
  maxSeqLen: number;
  /** input.limits.maxTokens: a record with more tokens (tokenized, before truncation) is rejected; undefined = no bound. */
  maxTokens?: number;
}

function checkLength(length: number, maxTokens: number | undefined, turn: number): void {
  if (maxTokens !== undefined && length > maxTokens) {
    throw new SequenceError(
      'TOO_MANY_TOKENS',
      `the record has more than ${maxTokens} tokens after tokenizing turn ${turn} (${length} so far), more than input.limits.maxTokens=${maxTokens}`,
    );
  }
}

function checkIds(ids: readonly number[], vocabSize: number, turn: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new SequenceError(
        'TOKEN_OUT_OF_VOCAB',
        `turn ${turn}, token ${i}: id ${id} is outside the model vocabulary [0, ${vocabSize})`,
      );
    }
  }
}

export function buildSequence(turns: readonly Turn[], opts: BuildOptions): BuiltSequence {
  if (!Number.isInteger(opts.maxSeqLen) || opts.maxSeqLen < 2) {
    throw new RangeError(`maxSeqLen must be an integer ≥ 2, got ${opts.maxSeqLen}`);
  }
  const ids: number[] = [];
  const target: number[] = [];
  turns.forEach((turn, t) => {
    const assistant = turn.role === 'assistant' ? 1 : 0;
    if (turn.token_ids !== null && turn.token_ids !== undefined) {
      checkIds(turn.token_ids, opts.vocabSize, t);
      for (const id of turn.token_ids) {
        ids.push(id);
        target.push(assistant);
      }
      checkLength(ids.length, opts.maxTokens, t);
      return;
    }
    if (!opts.tokenizer) {
      throw new SequenceError(
        'TOKENIZER_UNAVAILABLE',
        `turn ${t} has no token_ids and the probe model folder has no tokenizer (add tokenizer.json or send token_ids)`,
      );
    }
    const { prefix, body } = opts.tokenizer.encodeTurn(turn.role, turn.content, t);
    checkIds(prefix, opts.vocabSize, t);
    checkIds(body, opts.vocabSize, t);
    for (const id of prefix) {
      ids.push(id);
      target.push(0);
    }
    for (const id of body) {
      ids.push(id);
      target.push(assistant);
    }
    checkLength(ids.length, opts.maxTokens, t);
  });
  const fullLength = ids.length;
  const n = Math.min(fullLength, opts.maxSeqLen);
  const isTarget = Uint8Array.from(target.slice(0, n));
  if (n > 0) isTarget[0] = 0; // position 0 has no predecessor
  let targetCount = 0;
  for (const m of isTarget) targetCount += m;
  if (targetCount === 0) {
    throw new SequenceError(
      'NO_TARGET_TOKENS',
      fullLength > n
        ? `no assistant token within the first ${n} of ${fullLength} tokens (max_seq_len)`
        : `no assistant token at position ≥ 1 among ${fullLength} tokens`,
    );
  }
  return {
    ids: Int32Array.from(ids.slice(0, n)),
    isTarget,
    targetCount,
    truncated: fullLength > n,
    fullLength,
  };
}
