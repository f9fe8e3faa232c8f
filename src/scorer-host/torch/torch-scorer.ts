import { PrismError, errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { PrismScores, Trajectory } from '../../schemas/types.ts';
import { buildSequence, type BuiltSequence } from '../../sequence/index.ts';
import { concentrationStats } from '../../stats/index.ts';
import type { TurnTokenizer } from '../../tokenizer/types.ts';
import { ScorerError } from '../../scorer/errors.ts';
import type { ScoreOutcome, Scorer } from '../../scorer/types.ts';
import { TorchScorerError } from './errors.ts';
import type { ResultItem } from './protocol.ts';
import type { ServiceSupervisor } from './supervisor.ts';

export interface TorchScorerOptions {
  readonly supervisor: ServiceSupervisor;
  readonly tokenizer: TurnTokenizer | null;
  readonly vocabSize: number;
  readonly maxSeqLen: number;
  /** input.limits.maxTokens (text turns tokenized): over it → TOO_MANY_TOKENS outcome; default unbounded. */
  readonly maxTokens?: number;
  /** Rows per SCORE request (= per forward/backward on the service). */
  readonly batchSize: number;
  /** Padded tokens (rows × longest) per SCORE request. */
  readonly maxBatchTokens: number;
  readonly emitNorms: boolean;
  readonly unavailablePatienceMs: number;
  readonly probeModelId: string;
  readonly probeModelVersion: string;
  readonly backend: string;
  readonly log: Logger;
}

interface Item {
  readonly index: number;
  readonly seq: BuiltSequence;
}

/** Consecutive runs of length-sorted items with ≤ rows rows and ≤ tokens padded tokens each. */
export function requestChunks<T extends { seq: { ids: ArrayLike<number> } }>(
  items: readonly T[],
  rows: number,
  tokens: number,
): T[][] {
  const sorted = [...items].sort((a, b) => a.seq.ids.length - b.seq.ids.length);
  const out: T[][] = [];
  let cur: T[] = [];
  for (const it of sorted) {
    if (cur.length > 0 && (cur.length >= rows || (cur.length + 1) * it.seq.ids.length > tokens)) {
      out.push(cur);
      cur = [];
    }
    cur.push(it);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * PRISM scores from the PyTorch scorer service (scorer.kind torch). Sequences are built here
 * (src/sequence, the same rule as the tfjs scorer), the service returns per-trajectory norms, loss
 * and target counts, and the statistics come from src/stats. If the service dies mid-batch, the
 * batch's requests are sent again once it is back (respawned or reconnected, with backoff): the
 * micro-batch has not been routed yet, so nothing is lost or duplicated. Past
 * scorer.torch.unavailablePatienceMs, scoreBatch throws SERVICE_UNAVAILABLE (nothing is committed).
 */
export class TorchScorer implements Scorer {
  readonly probeModelId: string;
  readonly probeModelVersion: string;
  readonly backend: string;
  private readonly o: TorchScorerOptions;
  private disposed = false;

  constructor(o: TorchScorerOptions) {
    this.o = o;
    this.probeModelId = o.probeModelId;
    this.probeModelVersion = o.probeModelVersion;
    this.backend = o.backend;
  }

  async scoreBatch(trajectories: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if (this.disposed) throw new TorchScorerError('SERVICE_UNAVAILABLE', 'the torch scorer was disposed');
    const outcomes = new Array<ScoreOutcome>(trajectories.length);
    const items: Item[] = [];
    trajectories.forEach((t, index) => {
      try {
        const seq = buildSequence(t.turns, {
          tokenizer: this.o.tokenizer,
          vocabSize: this.o.vocabSize,
          maxSeqLen: this.o.maxSeqLen,
          maxTokens: this.o.maxTokens,
        });
        items.push({ index, seq });
      } catch (err) {
        outcomes[index] = {
          ok: false,
          error: err instanceof PrismError ? err : new ScorerError('SCORING_FAILED', errorMessage(err)),
        };
      }
    });
    for (const chunk of requestChunks(items, this.o.batchSize, this.o.maxBatchTokens)) {
      const results = await this.scoreChunk(chunk);
      chunk.forEach((it, k) => {
        outcomes[it.index] = this.toOutcome(results[k], it.seq, trajectories[it.index].id);
      });
    }
    return outcomes;
  }

  private async scoreChunk(chunk: readonly Item[]): Promise<ResultItem[]> {
    const deadline = Date.now() + this.o.unavailablePatienceMs;
    const seqs = chunk.map((c) => c.seq);
    for (;;) {
      const conn = await this.o.supervisor.connection(deadline);
      try {
        return await conn.score(seqs);
      } catch (err) {
        if (!(err instanceof TorchScorerError && err.code === 'SERVICE_DIED')) throw err;
        this.o.log.warn(
          { err: err.message, trajectories: chunk.length },
          'torch scorer service died mid-batch; resending the batch when it is back',
        );
      }
    }
  }

  private toOutcome(r: ResultItem, seq: BuiltSequence, id: string): ScoreOutcome {
    if (!r.ok) return { ok: false, error: new PrismError(r.code, `trajectory ${id}: ${r.message}`) };
    if (!Number.isFinite(r.loss) || r.norms.some((v) => !Number.isFinite(v))) {
      return {
        ok: false,
        error: new ScorerError(
          'NON_FINITE_GRADIENT',
          `trajectory ${id}: loss or gradient norm is not finite (loss ${r.loss})`,
        ),
      };
    }
    const scores: PrismScores = {
      ...concentrationStats(r.norms),
      loss: r.loss,
      response_tokens: r.targets,
      truncated: seq.truncated,
      norms: this.o.emitNorms ? Array.from(r.norms) : null,
    };
    return { ok: true, scores };
  }

  /**
   * probe.mode follow: makes the service serve another (verified) checkpoint folder, waiting up to
   * scorer.torch.unavailablePatienceMs for the service; rejects (RELOAD_FAILED) if it refuses it.
   */
  async reload(dir: string, sha256: string): Promise<void> {
    if (this.disposed) throw new TorchScorerError('SERVICE_UNAVAILABLE', 'the torch scorer was disposed');
    await this.o.supervisor.reload(dir, sha256, Date.now() + this.o.unavailablePatienceMs);
  }

  /** Why /readyz should say not ready, or undefined. */
  notReadyReason(): string | undefined {
    return this.o.supervisor.status().reason;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.o.supervisor.stop();
  }
}
