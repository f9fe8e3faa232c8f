import type { Turn } from '../../schemas/types.ts';

/**
 * Behaviour-policy log-probabilities per sequence position (logprob of token p at index p), or
 * null when they cannot be aligned. They align only when every turn carries token_ids (the
 * sequence is then exactly the concatenation of the ids, see src/sequence/build.ts): text turns
 * are tokenized by us, and the behaviour policy's logprobs belong to its own tokenization.
 * An assistant turn whose logprobs length differs from its token_ids is left without (REINFORCE there).
 */
export function alignBehaviourLogprobs(
  turns: readonly Turn[],
  length: number,
): { logp: Float32Array; has: Uint8Array } | null {
  if (!turns.some((t) => t.role === 'assistant' && t.logprobs !== null && t.logprobs !== undefined))
    return null;
  if (!turns.every((t) => t.token_ids !== null && t.token_ids !== undefined)) return null;
  const logp = new Float32Array(length);
  const has = new Uint8Array(length);
  let p = 0;
  for (const t of turns) {
    const ids = t.token_ids as number[];
    const lp = t.logprobs;
    const usable = t.role === 'assistant' && lp !== null && lp !== undefined && lp.length === ids.length;
    for (let i = 0; i < ids.length && p < length; i++, p++) {
      if (usable && Number.isFinite(lp[i])) {
        logp[p] = lp[i];
        has[p] = 1;
      }
    }
    if (p >= length) break;
  }
  return { logp, has };
}
