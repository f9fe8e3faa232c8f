/**
 * Messages between the main thread and the scorer worker (worker-scorer.ts ↔ entry.ts). Only plain,
 * structured-cloneable data crosses: trajectories (ids, turns, token arrays) in, score vectors and
 * typed error descriptions out. Tensors never cross; the model lives in the worker only.
 */
import { PrismError } from '../../errors.ts';
import type { ScorerConfig } from '../../config/scorer.ts';
import type { Arch, Preset } from '../../model/config.ts';
import type { PrismScores, Trajectory } from '../../schemas/types.ts';
import type { ScoreOutcome } from '../../scorer/types.ts';

export interface WorkerInit {
  readonly config: Partial<ScorerConfig>;
  /** A random built-in preset instead of config.modelDir (bench and tests). */
  readonly preset?: { preset: Preset; arch: Arch; seed: number };
  /** input.limits.maxTokens, for the sequences the worker builds. */
  readonly maxTokens?: number;
  /** Test hook: the worker exits (as a crash) when a batch contains this trajectory id. */
  readonly crashOnId?: string;
}

/** A PrismError as data: its class name, stable code and message. */
export interface WireError {
  readonly name: string;
  readonly code: string;
  readonly message: string;
}

export type WireOutcome = { ok: true; scores: PrismScores } | { ok: false; error: WireError };

/** The probe identity outputs are labelled with. */
export interface WireIdentity {
  readonly probeModelId: string;
  readonly probeModelVersion: string;
}

/**
 * Requests carry an id the reply repeats. `load` reads a checkpoint folder into the worker (probe.mode
 * follow, in the background; its id names the loaded model), `unload` frees one never adopted, `adopt`
 * makes loaded model `model` the serving one (or loads `dir` again when this worker does not hold it,
 * e.g. after a restart).
 */
export type ToWorker =
  | { type: 'score'; id: number; trajectories: readonly Trajectory[] }
  | { type: 'load'; id: number; dir: string }
  | { type: 'unload'; id: number }
  | { type: 'adopt'; id: number; model: number; dir: string; identity: WireIdentity }
  | { type: 'dispose' };

export type FromWorker =
  | {
      type: 'ready';
      probeModelId: string;
      probeModelVersion: string;
      backend: string;
      /** The GPU adapter (webgpu), for prism_scorer_info. */
      adapter?: string;
      maxSeqLen: number;
    }
  | { type: 'init-failed'; error: WireError }
  | { type: 'scored'; id: number; outcomes: WireOutcome[]; liveTensors: number; path?: string }
  | { type: 'done'; id: number; liveTensors: number }
  | { type: 'failed'; id: number; error: WireError; liveTensors: number };

export function toWireError(err: unknown): WireError {
  if (err instanceof PrismError) return { name: err.name, code: err.code, message: err.message };
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, code: 'SCORING_FAILED', message: e.message };
}

/** A typed error rebuilt on the main thread from the worker's description: same code, name and message. */
export class WorkerReportedError extends PrismError {
  constructor(wire: WireError) {
    super(wire.code, wire.message);
    Object.defineProperty(this, 'name', { value: wire.name, enumerable: false, configurable: true });
  }
}

export function toWireOutcome(o: ScoreOutcome): WireOutcome {
  return o.ok ? o : { ok: false, error: toWireError(o.error) };
}

export function fromWireOutcome(o: WireOutcome): ScoreOutcome {
  return o.ok ? o : { ok: false, error: new WorkerReportedError(o.error) };
}
