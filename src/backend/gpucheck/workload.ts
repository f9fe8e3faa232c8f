import * as tf from '@tensorflow/tfjs';
import type { Turn, Trajectory } from '../../schemas/types.ts';
import { batchTensors, buildSequence, packBatch } from '../../sequence/index.ts';
import { concentrationStats } from '../../stats/index.ts';
import type { Rows } from './norms-async.ts';

/**
 * The GPU check's workload: B trajectories of exactly T scored positions (a quarter prompt, the rest
 * assistant tokens) from a seeded LCG, so the stage machine and the GPU host build the same token ids.
 */
export function checkTrajectories(batch: number, seq: number, vocab: number, seed: number): Trajectory[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  };
  const prompt = Math.max(1, Math.floor((seq + 1) / 4));
  const turn = (role: Turn['role'], n: number): Turn => ({
    role,
    content: '',
    token_ids: Array.from({ length: n }, next),
    logprobs: null,
  });
  return Array.from({ length: batch }, (_, i) => ({
    id: `gpu-check-${i}`,
    task_id: `gpu-check-task-${i % 4}`,
    env: null,
    turns: [turn('user', prompt), turn('assistant', seq + 1 - prompt)],
    reward: null,
    metadata: {},
    created_at: 0,
    behavior_model_version: null,
  }));
}

/** Packed [B, T] rows (ids, targets, mask) exactly as the product scorer builds them. */
export function packRows(
  trajs: readonly Trajectory[],
  vocab: number,
  seq: number,
): Rows & { tokens: number } {
  const maxSeqLen = seq + 1;
  const built = trajs.map((t) => buildSequence(t.turns, { tokenizer: null, vocabSize: vocab, maxSeqLen }));
  const packed = packBatch(built, maxSeqLen);
  const tokens = Array.from(packed.lengths).reduce((a, b) => a + b, 0);
  return { ...batchTensors(packed), tokens };
}

/** Rows [from, to) of a packed batch as their own tensors (the caller disposes them). */
export function sliceRows(r: Rows, from: number, to: number): Rows {
  const cut = (t: tf.Tensor2D): tf.Tensor2D => tf.slice(t, [from, 0], [to - from, t.shape[1]]);
  return { inputIds: cut(r.inputIds), targetIds: cut(r.targetIds), targetMask: cut(r.targetMask) };
}

export function disposeRows(r: Rows): void {
  tf.dispose([r.inputIds, r.targetIds, r.targetMask]);
}

export interface ScoredRow {
  norms: number[];
  loss: number;
  gini: number;
  kurtosis: number;
  cv: number;
  l2: number;
}

export function scoredRow(norms: ArrayLike<number>, loss: number): ScoredRow {
  const s = concentrationStats(norms);
  return { norms: Array.from(norms), loss, gini: s.gini, kurtosis: s.kurtosis, cv: s.cv, l2: s.l2 };
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** Largest relative error of `got` against `want` over norms, loss and the four statistics. */
export function maxRelErrors(got: readonly ScoredRow[], want: readonly ScoredRow[]): Record<string, number> {
  if (got.length !== want.length) throw new Error(`row counts differ: ${got.length} vs ${want.length}`);
  const out: Record<string, number> = { norms: 0, loss: 0, gini: 0, kurtosis: 0, cv: 0, l2: 0 };
  got.forEach((g, i) => {
    const w = want[i];
    if (g.norms.length !== w.norms.length) throw new Error(`row ${i}: norm vector lengths differ`);
    g.norms.forEach((v, j) => (out.norms = Math.max(out.norms, relErr(v, w.norms[j]))));
    for (const k of ['loss', 'gini', 'kurtosis', 'cv', 'l2'] as const)
      out[k] = Math.max(out[k], relErr(g[k], w[k]));
  });
  return out;
}
