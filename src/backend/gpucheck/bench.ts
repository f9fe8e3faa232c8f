import type { LlamaModel } from '../../model/index.ts';
import { flopModel } from '../../scorer/flops.ts';
import { batchedNormsAsync, weightNormsAsync } from './norms-async.ts';
import { checkTrajectories, disposeRows, packRows, sliceRows } from './workload.ts';

/**
 * The GPU check's scorer rows: for one model at B × T, the batched probe pass, the per-trajectory loop
 * (projection weight gradients) and the paper's loop (a full backward per trajectory), timed after one
 * untimed warm-up (shader compilation, buffer pools) with asynchronous reads, so every timing ends when
 * the GPU's results are on the host. A global deadline is checked between calls: a row not started in
 * time is "skipped: time budget"; a loop cut short records how many trajectories it measured.
 */
export type RowPath = 'batched' | 'per-trajectory' | 'reference';

export interface GpuRow {
  model: string;
  parameters: number;
  batch: number;
  seq: number;
  path: RowPath;
  status: string;
  /** Trajectories timed (per-trajectory/reference loops may stop early at the deadline or row cap). */
  measured?: number;
  /** Batched: rows per probe pass (the batch is split so logits stay under the chunk byte limit). */
  chunkRows?: number;
  reps?: number;
  msPerBatch?: number;
  trajectoriesPerSec?: number;
  tokensPerSec?: number;
  tflopPerSec?: number;
  ofFp32Peak?: number;
}

export interface BenchContext {
  deadline: number;
  /** Longest a per-trajectory / reference loop keeps going before it stops with what it measured. */
  loopCapMs: number;
  peakTflops: number;
  chunkBytes: number;
}

const now = (): number => performance.now();

function finish(row: GpuRow, ms: number, trajs: number, tokens: number, flop: number, peak: number): GpuRow {
  const tflops = flop / 1e9 / ms;
  return {
    ...row,
    status: 'ok',
    msPerBatch: (ms * row.batch) / trajs,
    trajectoriesPerSec: (trajs * 1000) / ms,
    tokensPerSec: (tokens * 1000) / ms,
    tflopPerSec: tflops,
    ofFp32Peak: tflops / peak,
  };
}

async function batchedRow(model: LlamaModel, base: GpuRow, ctx: BenchContext): Promise<GpuRow> {
  const c = model.config;
  const fm = flopModel(c);
  const rows = packRows(checkTrajectories(base.batch, base.seq, c.vocab_size, 11), c.vocab_size, base.seq);
  const T = rows.inputIds.shape[1];
  const chunkRows = Math.max(1, Math.min(base.batch, Math.floor(ctx.chunkBytes / (T * c.vocab_size * 4))));
  const pass = async (): Promise<void> => {
    for (let at = 0; at < base.batch; at += chunkRows) {
      const part = sliceRows(rows, at, Math.min(base.batch, at + chunkRows));
      try {
        await batchedNormsAsync(model, part);
      } finally {
        disposeRows(part);
      }
    }
  };
  try {
    await pass(); // warm-up
    let reps = 0;
    const t0 = now();
    do {
      await pass();
      reps++;
    } while (reps < 5 && now() - t0 < 3000 && now() < ctx.deadline);
    const ms = (now() - t0) / reps;
    const flop = base.batch * (fm.forward(T) + fm.backwardActivations(T) + fm.norms(T));
    return finish(
      { ...base, chunkRows, reps, measured: base.batch },
      ms,
      base.batch,
      rows.tokens,
      flop,
      ctx.peakTflops,
    );
  } finally {
    disposeRows(rows);
  }
}

async function loopRow(model: LlamaModel, base: GpuRow, ctx: BenchContext): Promise<GpuRow> {
  const c = model.config;
  const fm = flopModel(c);
  const all = base.path === 'reference';
  const rows = packRows(checkTrajectories(base.batch, base.seq, c.vocab_size, 11), c.vocab_size, base.seq);
  const T = rows.inputIds.shape[1];
  const one = async (i: number): Promise<void> => {
    const r = sliceRows(rows, i, i + 1);
    try {
      await weightNormsAsync(model, r, all);
    } finally {
      disposeRows(r);
    }
  };
  try {
    await one(0); // warm-up
    const t0 = now();
    let done = 0;
    while (done < base.batch && now() < ctx.deadline && (done === 0 || now() - t0 < ctx.loopCapMs)) {
      await one(done);
      done++;
    }
    const ms = now() - t0;
    if (done === 0) return { ...base, status: 'skipped: time budget (after the warm-up)' };
    const perTraj =
      fm.forward(T) + fm.backwardActivations(T) + (all ? fm.allWeightGrads(T) : fm.projectionWeightGrads(T));
    const status = done < base.batch ? `ok: ${done} of ${base.batch} trajectories timed` : 'ok';
    const row = finish(
      { ...base, measured: done, reps: 1 },
      ms,
      done,
      (done * rows.tokens) / base.batch,
      done * perTraj,
      ctx.peakTflops,
    );
    return { ...row, status };
  } finally {
    disposeRows(rows);
  }
}

/** One row, or its skip/error record; never throws. */
export async function benchRow(model: LlamaModel, base: GpuRow, ctx: BenchContext): Promise<GpuRow> {
  if (now() >= ctx.deadline) return { ...base, status: 'skipped: time budget' };
  try {
    return base.path === 'batched' ? await batchedRow(model, base, ctx) : await loopRow(model, base, ctx);
  } catch (err) {
    return { ...base, status: `error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}
