import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, inputSection, type InputLimits } from '../../src/config/input.ts';
import {
  DECODE_REASON_CODES,
  RECORD_REASON_CODES,
  VALIDATION_REASON_CODES,
  ValidationError,
} from '../../src/schemas/errors.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { validateTrajectory } from '../../src/schemas/validate.ts';
import { validTrajectoryArb } from '../fixtures/schemas/arbitraries.ts';

const base: Trajectory = {
  id: 't',
  task_id: 'task',
  env: null,
  turns: [
    { role: 'user', content: 'q', token_ids: null, logprobs: null },
    { role: 'assistant', content: 'a', token_ids: [1, 2], logprobs: [-1, -2] },
  ],
  reward: 1,
  metadata: {},
  created_at: 0,
  behavior_model_version: null,
};

function codeOf(t: Trajectory, limits: InputLimits = DEFAULT_LIMITS): string | null {
  try {
    validateTrajectory(t, limits);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).code;
  }
}

const withAssistant = (patch: Partial<Trajectory['turns'][number]>): Trajectory => ({
  ...base,
  turns: [base.turns[0], { ...base.turns[1], ...patch }],
});

describe('validateTrajectory', () => {
  it('accepts every trajectory from validTrajectoryArb', () => {
    fc.assert(fc.property(validTrajectoryArb(), (t) => codeOf(t) === null));
  });

  it('accepts an assistant turn that has tokens but empty content', () => {
    expect(codeOf(withAssistant({ content: '', logprobs: null }))).toBeNull();
  });

  it.each([
    ['MISSING_ID', { ...base, id: ' ' }],
    ['MISSING_TASK_ID', { ...base, task_id: '' }],
    ['NO_ASSISTANT_TURN', { ...base, turns: [base.turns[0]] }],
    ['NO_ASSISTANT_TURN', withAssistant({ content: '', token_ids: [], logprobs: [] })],
    ['LOGPROBS_LENGTH_MISMATCH', withAssistant({ logprobs: [-1] })],
    ['LOGPROBS_LENGTH_MISMATCH', withAssistant({ token_ids: null })],
    ['LOGPROB_NOT_FINITE', withAssistant({ logprobs: [-1, Number.NEGATIVE_INFINITY] })],
    ['INVALID_TOKEN_ID', withAssistant({ token_ids: [1, -3] })],
    ['REWARD_NOT_FINITE', { ...base, reward: Number.NaN }],
    ['REWARD_NOT_FINITE', { ...base, reward: Number.POSITIVE_INFINITY }],
  ] as [string, Trajectory][])('rejects with %s', (code, t) => {
    expect(codeOf(t)).toBe(code);
  });

  it('applies the configured turn and token limits', () => {
    expect(codeOf(base, { ...DEFAULT_LIMITS, maxTurns: 1 })).toBe('TOO_MANY_TURNS');
    expect(codeOf(base, { ...DEFAULT_LIMITS, maxTokens: 1 })).toBe('TOO_MANY_TOKENS');
    expect(codeOf(base, { ...DEFAULT_LIMITS, maxTurns: 2, maxTokens: 2 })).toBeNull();
  });

  it('names the offending field in the error path', () => {
    try {
      validateTrajectory(withAssistant({ token_ids: [1, -3] }), DEFAULT_LIMITS);
      expect.unreachable();
    } catch (err) {
      expect((err as ValidationError).path).toBe('turns[1].token_ids[1]');
    }
  });
});

describe('reason codes', () => {
  it('exports every code once, decode and validation codes together', () => {
    expect(new Set(RECORD_REASON_CODES).size).toBe(RECORD_REASON_CODES.length);
    expect(RECORD_REASON_CODES).toEqual([...DECODE_REASON_CODES, ...VALIDATION_REASON_CODES]);
    for (const c of [
      'DECODE_BAD_MAGIC',
      'DECODE_UNKNOWN_SCHEMA_ID',
      'DECODE_TRUNCATED',
      'DECODE_INVALID_JSON',
      'SCHEMA_MISMATCH',
      'MISSING_ID',
      'NO_ASSISTANT_TURN',
      'LOGPROBS_LENGTH_MISMATCH',
      'REWARD_NOT_FINITE',
      'TOO_MANY_TURNS',
      'TOO_MANY_TOKENS',
      'RECORD_TOO_LARGE',
      'INVALID_UTF8',
    ]) {
      expect(RECORD_REASON_CODES).toContain(c);
    }
  });
});

describe('input config section', () => {
  it('defaults to Avro, the bundled registry and the default limits', () => {
    expect(inputSection.parse({})).toEqual({
      format: 'avro',
      schemaRegistry: { autoRegister: true, timeoutMs: 5000 },
      limits: DEFAULT_LIMITS,
    });
  });

  it('accepts a registry URL and partial limits', () => {
    const cfg = inputSection.parse({
      format: 'json',
      schemaRegistry: { url: 'http://127.0.0.1:8081' },
      limits: { maxTurns: 8 },
    });
    expect(cfg.schemaRegistry.url).toBe('http://127.0.0.1:8081');
    expect(cfg.limits).toEqual({ ...DEFAULT_LIMITS, maxTurns: 8 });
  });

  it('rejects unknown keys and bad values', () => {
    expect(inputSection.safeParse({ formt: 'json' }).success).toBe(false);
    expect(inputSection.safeParse({ limits: { maxTurns: 0 } }).success).toBe(false);
    expect(inputSection.safeParse({ schemaRegistry: { url: 'not a url' } }).success).toBe(false);
  });
});

describe('JSON nesting limit (before JSON.parse)', () => {
  it('rejects JSON nested deeper than MAX_JSON_DEPTH with DECODE_TOO_DEEP and ignores brackets inside strings', async () => {
    const { parseJsonBytes, jsonDepthExceeds, MAX_JSON_DEPTH } =
      await import('../../src/schemas/json-value.ts');
    const deep = Buffer.from(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`);
    expect(() => parseJsonBytes(deep, 'line')).toThrow(expect.objectContaining({ code: 'DECODE_TOO_DEEP' }));
    expect(() => parseJsonBytes(Buffer.from(`{"a":${'['.repeat(500_000)}`), 'line')).toThrow(
      expect.objectContaining({ code: 'DECODE_TOO_DEEP' }),
    );
    expect(jsonDepthExceeds(Buffer.from(`{"s":"${'['.repeat(1000)}\\"["}`))).toBe(false);
    expect(parseJsonBytes(Buffer.from('{"a":[[1]]}'), 'line')).toEqual({ a: [[1]] });
  });
});
