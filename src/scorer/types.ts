import type { PrismError } from '../errors.ts';
import type { PrismScores, Trajectory } from '../schemas/types.ts';

/** The result for one trajectory of a micro-batch: scores, or the typed reason it cannot be scored. */
export type ScoreOutcome = { ok: true; scores: PrismScores } | { ok: false; error: PrismError };

/**
 * What the arbitrator needs from a scorer. The PRISM tfjs scorer implements it; delivery tests
 * and `prism bench pipeline` plug cheap deterministic scorers into the same interface.
 */
export interface Scorer {
  readonly probeModelId: string;
  readonly probeModelVersion: string;
  /** The backend kind (BackendKind): 'tensorflow-gpu' (tfjs-node-gpu on a GPU), 'tensorflow' (tfjs-node on
   *  the CPU), 'wasm' or 'cpu'; 'none' for synthetic scorers. */
  readonly backend: string;
  /** The GPU adapter the backend runs on (webgpu: vendor, architecture, description); absent on CPU backends. */
  readonly adapter?: string;
  /** Scores one micro-batch; outcomes are in input order, one per trajectory. Never throws for a bad record. */
  scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]>;
  dispose(): void;
}
