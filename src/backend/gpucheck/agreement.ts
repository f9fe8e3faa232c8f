import type { Logger } from '../../log.ts';
import type { Arch, Preset } from '../../model/config.ts';
import type { LlamaModel } from '../../model/index.ts';
import { PrismScorer } from '../../scorer/index.ts';
import type { ScorerPath } from '../../scorer/path.ts';
import { batchedNormsAsync, weightNormsAsync } from './norms-async.ts';
import {
  checkTrajectories,
  disposeRows,
  maxRelErrors,
  packRows,
  scoredRow,
  sliceRows,
  type ScoredRow,
} from './workload.ts';

/** Backend agreement: the built-in presets are re-created from their seed on the GPU host (pure-JS init). */
export interface AgreementCase {
  name: string;
  preset: Preset;
  arch: Arch;
  seed: number;
  batch: number;
  seq: number;
  trajSeed: number;
}

export const AGREEMENT_TOLERANCE = 1e-4;

export const AGREEMENT: readonly AgreementCase[] = [
  { name: 'tiny-llama', preset: 'tiny', arch: 'llama', seed: 1, batch: 4, seq: 128, trajSeed: 7 },
  { name: 'tiny-qwen3', preset: 'tiny', arch: 'qwen3', seed: 1, batch: 4, seq: 128, trajSeed: 7 },
  { name: 'small-llama', preset: 'small', arch: 'llama', seed: 1, batch: 4, seq: 128, trajSeed: 7 },
];

export interface DriverScores {
  batched: ScoredRow[];
  perTrajectory: ScoredRow[];
}

export interface ReferenceModel extends AgreementCase, DriverScores {
  parameters: number;
  /** The async driver against PrismScorer on the stage machine, per path. */
  selfCheck: Record<string, Record<string, number>>;
}

export interface ReferenceFile {
  /** The CPU backend the reference was computed on. */
  backend: string;
  tolerance: number;
  models: ReferenceModel[];
}

/** The async driver's scores for one agreement case on the current backend, both paths. */
export async function driverScores(model: LlamaModel, a: AgreementCase): Promise<DriverScores> {
  const vocab = model.config.vocab_size;
  const rows = packRows(checkTrajectories(a.batch, a.seq, vocab, a.trajSeed), vocab, a.seq);
  try {
    const b = await batchedNormsAsync(model, rows);
    const batched = b.norms.map((n, i) => scoredRow(n, b.losses[i]));
    const perTrajectory: ScoredRow[] = [];
    for (let i = 0; i < a.batch; i++) {
      const one = sliceRows(rows, i, i + 1);
      try {
        const r = await weightNormsAsync(model, one, false);
        perTrajectory.push(scoredRow(r.norms[0], r.losses[0]));
      } finally {
        disposeRows(one);
      }
    }
    return { batched, perTrajectory };
  } finally {
    disposeRows(rows);
  }
}

/** The PRODUCT scorer's scores (PrismScorer: layer-wise backward, chunked head, asynchronous reads) on the current backend. */
export async function productScores(
  model: LlamaModel,
  a: AgreementCase,
  path: ScorerPath,
  logger: Logger,
): Promise<ScoredRow[]> {
  const scorer = new PrismScorer({
    model,
    tokenizer: null,
    probeModelId: 'gpu-check',
    probeModelVersion: 'v0',
    backend: 'gpu-check',
    maxSeqLen: a.seq + 1,
    batchSize: a.batch,
    emitNorms: true,
    path,
    ownsModel: false,
    logger,
  });
  try {
    const out = await scorer.scoreBatch(
      checkTrajectories(a.batch, a.seq, model.config.vocab_size, a.trajSeed),
    );
    return out.map((o) => {
      if (!o.ok) throw new Error(`${path}: ${o.error.code} ${o.error.message}`);
      return scoredRow(o.scores.norms ?? [], o.scores.loss);
    });
  } finally {
    scorer.dispose();
  }
}

/** PrismScorer on both paths: what `prism score` / `prism run` compute on this backend. */
export async function productDriverScores(
  model: LlamaModel,
  a: AgreementCase,
  logger: Logger,
): Promise<DriverScores> {
  return {
    batched: await productScores(model, a, 'batched', logger),
    perTrajectory: await productScores(model, a, 'per-trajectory', logger),
  };
}

export interface AgreementResult {
  name: string;
  parameters: number;
  batch: number;
  seq: number;
  referenceBackend: string;
  maxRelErr: { batched: Record<string, number>; perTrajectory: Record<string, number> } | null;
  pass: boolean;
  /** Set when scoring threw on this backend (then pass is false). */
  error?: string;
}

export function compareWithReference(
  ref: ReferenceModel,
  got: DriverScores,
  referenceBackend: string,
  tolerance: number,
): AgreementResult {
  const maxRelErr = {
    batched: maxRelErrors(got.batched, ref.batched),
    perTrajectory: maxRelErrors(got.perTrajectory, ref.perTrajectory),
  };
  const worst = Math.max(...Object.values(maxRelErr).flatMap((e) => Object.values(e)));
  return {
    name: ref.name,
    parameters: ref.parameters,
    batch: ref.batch,
    seq: ref.seq,
    referenceBackend,
    maxRelErr,
    pass: worst < tolerance,
  };
}
