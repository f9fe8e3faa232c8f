import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/input.ts';
import { validateTrajectory } from '../../src/cli/validate-records.ts';
import { ValidationError } from '../../src/schemas/errors.ts';
import type { Trajectory } from '../../src/schemas/types.ts';

// The file commands (score, eval, model warm-start) validate with input.limits' defaults.
function withTurns(n: number): Trajectory {
  return {
    id: 't',
    task_id: 'task',
    env: null,
    turns: Array.from({ length: n }, () => ({
      role: 'assistant' as const,
      content: 'a',
      token_ids: null,
      logprobs: null,
    })),
    reward: null,
    metadata: {},
    created_at: 0,
    behavior_model_version: null,
  };
}

function codeOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (err) {
    return err instanceof ValidationError ? err.code : `not a ValidationError: ${String(err)}`;
  }
}

describe('cli validateTrajectory', () => {
  it('applies the default input.limits when given none', () => {
    expect(codeOf(() => validateTrajectory(withTurns(DEFAULT_LIMITS.maxTurns)))).toBeNull();
    expect(codeOf(() => validateTrajectory(withTurns(DEFAULT_LIMITS.maxTurns + 1)))).toBe('TOO_MANY_TURNS');
  });

  it('applies the limits it is given', () => {
    expect(codeOf(() => validateTrajectory(withTurns(3), { maxTurns: 2, maxTokens: 10 }))).toBe(
      'TOO_MANY_TURNS',
    );
  });
});
