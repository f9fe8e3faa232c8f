import * as tf from '@tensorflow/tfjs';
import type { LlamaModel } from '../../model/llama.ts';
import { buildSequence, tokenLimit, type BuiltSequence } from '../../sequence/index.ts';
import { SequenceError } from '../../sequence/errors.ts';
import type { TurnTokenizer } from '../../tokenizer/types.ts';
import { PrismError } from '../../errors.ts';
import type { InputRecord } from '../types.ts';

/** What the engines need from the model: LlamaModel satisfies it (tests may pass smaller fakes). */
export type TrainableModel = Pick<LlamaModel, 'forward' | 'namedWeights'> & {
  config: { vocab_size: number };
};

export interface SequenceSettings {
  tokenizer: TurnTokenizer | null;
  vocabSize: number;
  maxSeqLen: number;
  /** input.limits.maxTokens (text turns tokenized): over it → TOO_MANY_TOKENS dead letter. */
  maxTokens?: number;
}

/**
 * The engines' sequence settings. trainer.maxSeqLen counts tokens and is capped, as the scorer caps
 * scorer.maxSeqLen, at what the model's positions hold (src/sequence/token-limit.ts): a longer trajectory
 * is cut like any other over the limit, where a forward of more positions than the model has would throw
 * on every micro-batch holding one and stop the trainer.
 */
export function engineSequence(
  config: { vocab_size: number; max_position_embeddings: number },
  tokenizer: TurnTokenizer | null,
  maxSeqLen: number,
  maxTokens?: number,
): SequenceSettings {
  return {
    tokenizer,
    vocabSize: config.vocab_size,
    maxSeqLen: tokenLimit(maxSeqLen, config.max_position_embeddings),
    maxTokens,
  };
}

/** The shared trajectory → sequence rule (src/sequence), with its errors as dead-letter reasons. */
export function buildFor(
  record: InputRecord,
  s: SequenceSettings,
): { ok: true; seq: BuiltSequence } | { ok: false; error: PrismError } {
  try {
    return { ok: true, seq: buildSequence(record.value.trajectory.turns, s) };
  } catch (err) {
    if (err instanceof SequenceError) return { ok: false, error: err };
    if (err instanceof PrismError) return { ok: false, error: err };
    throw err;
  }
}

/**
 * Gradients of `lossFn` w.r.t. every model weight, keyed by HF name. tfjs keys variableGrads by
 * the tfjs variable name, which is auto-generated (LlamaModel does not name its variables).
 */
export function namedGrads(
  weights: Map<string, tf.Variable>,
  lossFn: () => tf.Scalar,
): { value: number; grads: Map<string, tf.Tensor> } {
  const names = [...weights.keys()];
  const vars = names.map((n) => weights.get(n) as tf.Variable);
  const { value, grads } = tf.variableGrads(lossFn, vars);
  const out = new Map<string, tf.Tensor>();
  names.forEach((n, i) => {
    const g = grads[vars[i].name];
    if (g !== undefined) out.set(n, g);
  });
  const v = value.dataSync()[0];
  value.dispose();
  return { value: v, grads: out };
}

/** Shared with the scorer: one definition of the per-token log-probability. */
export { tokenLogProbs } from '../../sequence/loss.ts';
