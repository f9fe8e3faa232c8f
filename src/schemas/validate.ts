import type { InputLimits } from '../config/input.ts';
import { ValidationError } from './errors.ts';
import type { Trajectory } from './types.ts';

/**
 * The rules a decoded trajectory must follow before it is scored. Throws the first broken rule
 * as a ValidationError with a stable code and the offending field path. Byte size is checked by
 * the codec, before decoding (RECORD_TOO_LARGE).
 *
 * Token counts cover turns that carry token_ids; turns without them are tokenized later and
 * bounded by maxBytes only. `limits` is the caller's `input.limits` (DEFAULT_LIMITS of
 * src/config/input.ts when it has no configuration).
 */
export function validateTrajectory(
  t: Trajectory,
  limits: Pick<InputLimits, 'maxTurns' | 'maxTokens'>,
): Trajectory {
  if (t.id.trim() === '') throw new ValidationError('MISSING_ID', 'trajectory id is empty', { path: 'id' });
  const who = `trajectory ${t.id}`;
  if (t.task_id.trim() === '') {
    throw new ValidationError('MISSING_TASK_ID', `${who}: task_id is empty (it defines the RL group)`, {
      path: 'task_id',
    });
  }
  if (t.turns.length > limits.maxTurns) {
    throw new ValidationError(
      'TOO_MANY_TURNS',
      `${who} has ${t.turns.length} turns, more than input.limits.maxTurns=${limits.maxTurns}`,
      {
        path: 'turns',
      },
    );
  }
  if (t.reward !== null && !Number.isFinite(t.reward)) {
    throw new ValidationError('REWARD_NOT_FINITE', `${who}: reward is ${t.reward}`, { path: 'reward' });
  }

  let tokens = 0;
  let hasAssistant = false;
  t.turns.forEach((turn, i) => {
    const at = `turns[${i}]`;
    const ids = turn.token_ids;
    if (ids) {
      tokens += ids.length;
      const bad = ids.findIndex((x) => x < 0);
      if (bad >= 0) {
        throw new ValidationError('INVALID_TOKEN_ID', `${who}: ${at}.token_ids[${bad}] is ${ids[bad]}`, {
          path: `${at}.token_ids[${bad}]`,
        });
      }
    }
    if (turn.logprobs) {
      if (!ids || ids.length !== turn.logprobs.length) {
        throw new ValidationError(
          'LOGPROBS_LENGTH_MISMATCH',
          ids
            ? `${who}: ${at} has ${turn.logprobs.length} logprobs for ${ids.length} token_ids`
            : `${who}: ${at} has logprobs but no token_ids to align them with`,
          { path: `${at}.logprobs` },
        );
      }
      const bad = turn.logprobs.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        throw new ValidationError(
          'LOGPROB_NOT_FINITE',
          `${who}: ${at}.logprobs[${bad}] is ${turn.logprobs[bad]}`,
          {
            path: `${at}.logprobs[${bad}]`,
          },
        );
      }
    }
    if (turn.role === 'assistant' && (turn.content.length > 0 || (ids !== null && ids.length > 0)))
      hasAssistant = true;
  });

  if (tokens > limits.maxTokens) {
    throw new ValidationError(
      'TOO_MANY_TOKENS',
      `${who} has ${tokens} tokens, more than input.limits.maxTokens=${limits.maxTokens}`,
      {
        path: 'turns',
      },
    );
  }
  if (!hasAssistant) {
    throw new ValidationError(
      'NO_ASSISTANT_TURN',
      `${who} has no assistant turn with content or token_ids: nothing to score`,
      {
        path: 'turns',
      },
    );
  }
  return t;
}
