import { concatMap, type OperatorFunction } from 'rxjs';
import type { ProbeRef } from '../arbitration/arbitrator.ts';
import { PrismError } from '../errors.ts';
import type { Scorer } from '../scorer/types.ts';
import type { Trajectory } from '../schemas/types.ts';
import type { SerialGate } from './serial-gate.ts';
import type { Batch, Decoded, DecodeResult, ScoreResult } from './types.ts';

/** A probe model change, applied between two micro-batches. */
export interface ProbeSwap {
  readonly from: ProbeRef;
  readonly to: ProbeRef;
}

/** A scorer whose probe model can change (probe.mode follow), but only when asked to. */
export interface SwappableScorer extends Scorer {
  /** Swaps in the newest verified model if one is ready; returns the change, or null. */
  swapIfReady(): ProbeSwap | null;
}

export function isSwappable(scorer: Scorer): scorer is SwappableScorer {
  return typeof (scorer as Partial<SwappableScorer>).swapIfReady === 'function';
}

export interface ScoreOptions {
  /** Shared by all lanes so one micro-batch at a time runs on the backend. */
  readonly gate: SerialGate;
  readonly now?: () => number;
  /** Called after each scorer call (batch size, seconds). */
  readonly onScored?: (size: number, seconds: number) => void;
  /** A swappable scorer changed its probe model before this micro-batch (start a new window). */
  readonly onSwap?: (change: ProbeSwap) => void;
}

/**
 * Scores each micro-batch with one scorer call (one batch at a time on the backend). Records
 * that failed decoding pass through untouched and in place; a record the scorer cannot score
 * becomes a `failed` item (stage `score`). A scorer that throws is an infrastructure failure
 * and errors the stream (nothing is committed; a restart resumes from the last commit).
 * concatMap's queue is bounded by the consumer's in-flight watermarks.
 *
 * A SwappableScorer (probe.mode follow) is asked to swap at the start of each scorer call, inside
 * the gate: no micro-batch is being scored then, so one batch never mixes probe versions, and the
 * probe identity recorded for the batch is read after the swap.
 */
export function score(
  scorer: Scorer,
  options: ScoreOptions,
): OperatorFunction<Batch<DecodeResult>, ScoreResult[]> {
  const now = options.now ?? Date.now;
  return concatMap(async (batch): Promise<ScoreResult[]> => {
    const decoded = batch.filter((r): r is Decoded => r.kind === 'decoded');
    if (decoded.length === 0) return batch.map((r) => r as ScoreResult);
    const trajectories: Trajectory[] = decoded.map((d) => d.trajectory);
    const { outcomes, probe, seconds } = await options.gate.run(async () => {
      const change = isSwappable(scorer) ? scorer.swapIfReady() : null;
      if (change) options.onSwap?.(change);
      const probe = { modelId: scorer.probeModelId, version: scorer.probeModelVersion };
      const started = performance.now();
      const outcomes = await scorer.scoreBatch(trajectories);
      return { outcomes, probe, seconds: (performance.now() - started) / 1000 };
    });
    options.onScored?.(decoded.length, seconds);
    if (outcomes.length !== decoded.length) {
      throw new PrismError(
        'SCORER_CONTRACT',
        `scorer returned ${outcomes.length} outcomes for ${decoded.length} trajectories`,
      );
    }
    const scoredAt = now();
    let i = 0;
    return batch.map((r): ScoreResult => {
      if (r.kind !== 'decoded') return r;
      const outcome = outcomes[i++];
      return outcome.ok
        ? {
            kind: 'scored',
            source: r.source,
            trajectory: r.trajectory,
            scores: outcome.scores,
            probe,
            scoredAt,
          }
        : { kind: 'failed', source: r.source, stage: 'score', error: outcome.error };
    });
  });
}
