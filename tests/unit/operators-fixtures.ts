import type { PrismScores, Trajectory } from '../../src/schemas/types.ts';
import type { Scorer, ScoreOutcome } from '../../src/scorer/types.ts';
import type { SourceRecord } from '../../src/operators/types.ts';

/** Shared builders for the operator/consumer/producer unit tests. */
export function trajectory(id: string): Trajectory {
  return {
    id,
    task_id: `task-${id}`,
    env: null,
    turns: [
      { role: 'user', content: 'hi', token_ids: null, logprobs: null },
      { role: 'assistant', content: 'hello', token_ids: null, logprobs: null },
    ],
    reward: null,
    metadata: {},
    created_at: 1_700_000_000_000,
    behavior_model_version: null,
  };
}

export function sourceRecord(
  offset: number,
  value: string | null = `t${offset}`,
  partition = 0,
): SourceRecord {
  return {
    topic: 'in',
    partition,
    offset: String(offset),
    key: null,
    value: value === null ? null : Buffer.from(value),
    headers: {},
    timestamp: 1_700_000_000_000 + offset,
  };
}

export function scores(gini: number): PrismScores {
  return { gini, kurtosis: 3, cv: 0.5, l2: 1, loss: 2, response_tokens: 5, truncated: false, norms: null };
}

/** Scores each trajectory with gini = Number(id after 't') / 100; ids containing 'bad' fail. */
export class FakeScorer implements Scorer {
  readonly probeModelId = 'fake';
  probeModelVersion = '1';
  readonly backend = 'none';
  calls: number[] = [];

  async scoreBatch(ts: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    this.calls.push(ts.length);
    const { PrismError } = await import('../../src/errors.ts');
    return ts.map((t) =>
      t.id.includes('bad')
        ? { ok: false, error: new PrismError('SCORE_TOO_LONG', `cannot score ${t.id}`) }
        : { ok: true, scores: scores(Number(t.id.replace(/\D/g, '')) / 100) },
    );
  }

  dispose(): void {}
}
