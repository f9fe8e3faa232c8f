import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { selectBackend, type BackendChoice, type BackendInfo } from '../backend/index.ts';
import { errorMessage } from '../errors.ts';
import { log, type Logger } from '../log.ts';
import type { Preset } from '../model/config.ts';
import { initModel } from '../model/llama.ts';
import { saveModel } from '../model-store/llama.ts';
import { syntheticTrajectories, type BenchRow, type ScorerBenchResult } from '../scorer-host/bench.ts';
import { openProbeModel } from '../scorer-host/open.ts';
import { PrismScorer } from '../scorer/prism-scorer.ts';
import { buildSequence, packBatch } from '../sequence/index.ts';
import { gini } from '../stats/index.ts';
import { BenchError } from './errors.ts';
import { prismJsonChild } from './prism-child.ts';
import type { RunMeta } from './machine.ts';
import { repoRoot } from './paths.ts';
import type { ResultBase } from './results.ts';

const run = promisify(execFile);

/**
 * `prism bench torch`: the paper's method in PyTorch (bench/pytorch/prism_torch.py: transformers,
 * one full backward per trajectory, per-matrix gradient norms) beside prism-stream's tfjs scorer
 * (helper 4's `prism bench scorer --json`), on the same model folder and the same token ids, at the
 * same thread counts: for each count t, our side runs in a child process with
 * TF_NUM_INTRAOP_THREADS=t (TensorFlow's process-wide default pool size) and torch with
 * torch.set_num_threads(t). Also cross-checks the two implementations' norms and losses.
 */
export interface TorchOptions {
  presets: Preset[];
  batch: number;
  seq: number;
  reps: number;
  backend: BackendChoice;
  /** Thread counts to compare at (default: 1 and the core count). */
  threads: number[];
  python?: string;
  attention: 'sdpa' | 'eager';
  logger: Logger;
  meta: { finish(): RunMeta };
  onStep?: (preset: Preset, threads: number) => void;
}

export interface TorchSide {
  torch: string;
  transformers: string;
  python: string;
  threads: number;
  interopThreads: number;
  attention: string;
  trajectories: number;
  msPerTrajectory: number;
  cpuMsPerTrajectory: number;
  trajectoriesPerSec: number;
}

interface TorchOutput extends TorchSide {
  losses: number[];
  norms: number[][];
}

export interface TorchRow {
  preset: Preset;
  batch: number;
  seq: number;
  /** Threads of both sides. */
  threads: number;
  parameters: number;
  /** trajectories/s of each tfjs path (rows of `prism bench scorer`). */
  ours: Record<BenchRow['name'], number>;
  torch: TorchSide;
  /** Our paper-method loop (reference) / torch's: the like-for-like ratio. */
  referenceVsTorch: number;
  /** Our batched scorer / torch's paper-method loop: what the project gains end to end. */
  batchedVsTorch: number;
  /** Largest |ours − torch| / |torch| over every norm of every trajectory. */
  maxRelNormDiff: number;
  maxAbsLossDiff: number;
}

export interface TorchResult extends ResultBase<'torch'> {
  backend: BackendInfo;
  python: string;
  reps: number;
  rows: TorchRow[];
}

/** PRISM_TORCH_PYTHON, else bench/pytorch/.venv (made by bench/pytorch/setup-venv.sh). */
export function torchPython(explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const env = process.env.PRISM_TORCH_PYTHON;
  if (env !== undefined && env !== '') return env;
  const venv = join(repoRoot(), 'bench', 'pytorch', '.venv', 'bin', 'python');
  if (existsSync(venv)) return venv;
  throw new BenchError(
    'TORCH_UNAVAILABLE',
    'no Python with torch + transformers: run bench/pytorch/setup-venv.sh (creates bench/pytorch/.venv), or set PRISM_TORCH_PYTHON=/path/to/venv/bin/python',
  );
}

interface Exported {
  sequences: { input_ids: number[]; target_ids: number[]; target_mask: number[] }[];
}

/** The exact (input, target, mask) rows the tfjs scorer builds for the bench's synthetic trajectories. */
export function exportSequences(batch: number, seq: number, vocab: number): Exported {
  const maxSeqLen = seq + 1;
  return {
    sequences: syntheticTrajectories(batch, seq, vocab).map((t) => {
      const p = packBatch(
        [buildSequence(t.turns, { tokenizer: null, vocabSize: vocab, maxSeqLen })],
        maxSeqLen,
      );
      const n = p.lengths[0];
      return {
        input_ids: Array.from(p.inputIds.subarray(0, n)),
        target_ids: Array.from(p.targetIds.subarray(0, n)),
        target_mask: Array.from(p.targetMask.subarray(0, n)),
      };
    }),
  };
}

/** Our norms and losses for the same trajectories (per-trajectory path, norms emitted), in this process. */
export async function ourNorms(
  modelDir: string,
  batch: number,
  seq: number,
  backend: string,
): Promise<{ norms: number[][]; losses: number[] }> {
  const probe = await openProbeModel({ modelDir });
  const scorer = new PrismScorer({
    model: probe.model,
    tokenizer: probe.tokenizer,
    probeModelId: probe.identity.probeModelId,
    probeModelVersion: probe.identity.probeModelVersion,
    backend,
    maxSeqLen: seq + 1,
    batchSize: batch,
    emitNorms: true,
    path: 'per-trajectory',
    logger: log,
  });
  try {
    const outcomes = await scorer.scoreBatch(
      syntheticTrajectories(batch, seq, probe.model.config.vocab_size),
    );
    const norms: number[][] = [];
    const losses: number[] = [];
    for (const o of outcomes) {
      if (!o.ok) throw o.error;
      norms.push(o.scores.norms ?? []);
      losses.push(o.scores.loss);
    }
    return { norms, losses };
  } finally {
    scorer.dispose();
  }
}

export function threadEnv(t: number): NodeJS.ProcessEnv {
  const n = String(t);
  return {
    ...process.env,
    TF_NUM_INTRAOP_THREADS: n,
    TF_NUM_INTEROP_THREADS: '1',
    OMP_NUM_THREADS: n,
    MKL_NUM_THREADS: n,
  };
}

/** Our side at `threads` threads: `prism bench scorer --model DIR --json` in a child (TF reads its pool size at start). */
export interface OursOptions {
  batch: number;
  seq: number;
  reps: number;
  backend: BackendChoice;
  /** Only these rows of `bench scorer` (default: all). */
  rows?: readonly string[];
  /** Child environment (default: threadEnv(threads)). */
  env?: NodeJS.ProcessEnv;
}

export async function oursAt(threads: number, o: OursOptions, modelDir: string): Promise<ScorerBenchResult> {
  const args = ['bench', 'scorer', '--model', modelDir, '--batch', String(o.batch), '--seq', String(o.seq)];
  args.push('--reps', String(o.reps), '--backends', o.backend, '--json');
  if (o.rows !== undefined) args.push('--rows', o.rows.join(','));
  return prismJsonChild<ScorerBenchResult>(
    args,
    o.env ?? threadEnv(threads),
    `prism bench scorer --model … --json at ${threads} thread(s)`,
  );
}

export async function torchAt(
  threads: number,
  o: TorchOptions,
  python: string,
  modelDir: string,
  idsPath: string,
): Promise<TorchOutput> {
  const script = join(repoRoot(), 'bench', 'pytorch', 'prism_torch.py');
  try {
    const { stdout } = await run(
      python,
      [
        script,
        '--model',
        modelDir,
        '--ids',
        idsPath,
        '--threads',
        String(threads),
        '--reps',
        String(o.reps),
        '--attn',
        o.attention,
      ],
      {
        maxBuffer: 64 * 2 ** 20,
        timeout: 3_600_000,
        env: threadEnv(threads),
      },
    );
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as TorchOutput;
  } catch (err) {
    throw new BenchError(
      'TORCH_UNAVAILABLE',
      `${python} ${script} failed: ${errorMessage(err).split('\n').slice(-6).join(' | ')}`,
      { cause: err },
    );
  }
}

/** Largest relative norm difference, largest loss difference and largest Gini (the score) difference. */
export function compare(
  mine: { norms: number[][]; losses: number[] },
  theirs: TorchOutput,
): { maxRel: number; maxLoss: number; maxGini: number } {
  let maxRel = 0;
  let maxLoss = 0;
  let maxGini = 0;
  theirs.norms.forEach((row, i) => {
    row.forEach((v, j) => {
      maxRel = Math.max(maxRel, Math.abs(mine.norms[i][j] - v) / Math.max(Math.abs(v), 1e-12));
    });
    maxLoss = Math.max(maxLoss, Math.abs(mine.losses[i] - theirs.losses[i]));
    maxGini = Math.max(maxGini, Math.abs(gini(mine.norms[i]) - gini(row)));
  });
  return { maxRel, maxLoss, maxGini };
}

export async function runTorchBench(o: TorchOptions): Promise<TorchResult> {
  const python = torchPython(o.python);
  const backend = await selectBackend(o.backend, { logger: o.logger });
  const rows: TorchRow[] = [];
  for (const preset of o.presets) {
    const dir = await mkdtemp(join(tmpdir(), `prism-torch-${preset}-`));
    try {
      const modelDir = join(dir, 'model');
      const model = initModel({ preset, arch: 'llama', seed: 0 });
      const vocab = model.config.vocab_size;
      const parameters = model.parameterCount();
      try {
        await saveModel(model, modelDir);
      } finally {
        model.dispose();
      }
      const idsPath = join(dir, 'ids.json');
      await writeFile(idsPath, JSON.stringify(exportSequences(o.batch, o.seq, vocab)));
      const mine = await ourNorms(modelDir, o.batch, o.seq, backend.kind);
      for (const threads of o.threads) {
        o.onStep?.(preset, threads);
        o.logger.info({ preset, threads }, 'torch bench: tfjs side');
        const ours = await oursAt(threads, o, modelDir);
        o.logger.info({ preset, threads, python }, 'torch bench: PyTorch side');
        const out = await torchAt(threads, o, python, modelDir, idsPath);
        const { maxRel, maxLoss } = compare(mine, out);
        const tps = Object.fromEntries(ours.rows.map((r) => [r.name, r.trajectoriesPerSec])) as Record<
          BenchRow['name'],
          number
        >;
        const { losses: _l, norms: _n, ...torchSide } = out;
        rows.push({
          preset,
          batch: o.batch,
          seq: o.seq,
          threads,
          parameters,
          ours: tps,
          torch: torchSide,
          referenceVsTorch: tps.reference / out.trajectoriesPerSec,
          batchedVsTorch: tps.batched / out.trajectoriesPerSec,
          maxRelNormDiff: maxRel,
          maxAbsLossDiff: maxLoss,
        });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { kind: 'torch', meta: o.meta.finish(), backend, python, reps: o.reps, rows };
}
