import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismError } from '../errors.ts';
import type { PrismScores, Trajectory } from '../schemas/types.ts';
import type { ScoreOutcome, Scorer } from './types.ts';

/** A trajectory the deterministic scorer was told to reject (tests of the score → DLQ path). */
export class InjectedScoreError extends PrismError {
  constructor(id: string) {
    super(
      'SCORE_INJECTED_FAILURE',
      `deterministic scorer rejects trajectory ${id} (scorer.deterministic.failIds)`,
    );
  }
}

export interface DeterministicScorerOptions {
  readonly probeModelId?: string;
  readonly probeModelVersion?: string;
  /** Wait this long per micro-batch (without blocking the event loop): a "slow model". */
  readonly delayMs?: number;
  /** Trajectory ids matching this pattern get a failed outcome. */
  readonly failIds?: RegExp;
}

/** Four independent uniforms in [0, 1) from sha256(id): the same id always gets the same scores. */
function uniforms(id: string): [number, number, number, number] {
  const h = createHash('sha256').update(id).digest();
  const u = (i: number): number => h.readUInt32BE(i * 4) / 2 ** 32;
  return [u(0), u(1), u(2), u(3)];
}

/** Scores that are a pure function of the trajectory id, in plausible ranges for each statistic. */
export function deterministicScores(t: Trajectory): PrismScores {
  const [a, b, c, d] = uniforms(t.id);
  const responseChars = t.turns
    .filter((turn) => turn.role === 'assistant')
    .reduce((n, turn) => n + turn.content.length, 0);
  return {
    gini: 0.2 + 0.6 * a,
    kurtosis: 3 + 20 * b,
    cv: 0.3 + 2 * c,
    l2: 0.5 + 50 * d,
    loss: 1 + 3 * a * b,
    response_tokens: Math.max(1, Math.ceil(responseChars / 4)),
    truncated: false,
    norms: null,
  };
}

/**
 * A cheap, deterministic scorer: no model, scores hashed from the trajectory id. Delivery
 * tests use it because their outputs are reproducible across restarts and instances; the
 * scores are i.i.d. uniform per statistic, so the median split is 50:50 in expectation.
 */
export class DeterministicScorer implements Scorer {
  readonly probeModelId: string;
  readonly probeModelVersion: string;
  readonly backend = 'none';

  constructor(private readonly options: DeterministicScorerOptions = {}) {
    this.probeModelId = options.probeModelId ?? 'deterministic';
    this.probeModelVersion = options.probeModelVersion ?? '1';
  }

  async scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if ((this.options.delayMs ?? 0) > 0) await sleep(this.options.delayMs);
    return trajectories.map((t): ScoreOutcome =>
      this.options.failIds?.test(t.id) === true
        ? { ok: false, error: new InjectedScoreError(t.id) }
        : { ok: true, scores: deterministicScores(t) },
    );
  }

  dispose(): void {}
}

const CONSTANT_SCORES: PrismScores = {
  gini: 0.5,
  kurtosis: 3,
  cv: 1,
  l2: 1,
  loss: 1,
  response_tokens: 1,
  truncated: false,
  norms: null,
};

/** Constant scores, no work: `prism bench pipeline` measures the stream machinery alone. */
export class NoopScorer implements Scorer {
  readonly probeModelId = 'noop';
  readonly probeModelVersion = '0';
  readonly backend = 'none';

  async scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    return trajectories.map(() => ({ ok: true, scores: { ...CONSTANT_SCORES } }));
  }

  dispose(): void {}
}
