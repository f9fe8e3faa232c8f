import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackendChoice, BackendInfo } from '../backend/index.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Preset } from '../model/config.ts';
import { initModel, saveModel } from '../model/llama.ts';
import { runScorerBench, syntheticTrajectories, type BenchRow } from '../scorer/bench.ts';
import { openProbeModel } from '../scorer/open.ts';
import { PrismScorer } from '../scorer/prism-scorer.ts';
import { buildSequence, packBatch } from '../sequence/index.ts';
import { BenchError } from './errors.ts';
import type { RunMeta } from './machine.ts';
import { repoRoot } from './paths.ts';
import type { ResultBase } from './results.ts';
import { backendThreads } from './scorer-sweep.ts';

const run = promisify(execFile);

/**
 * `prism bench torch`: the paper's method in PyTorch (bench/pytorch/prism_torch.py: transformers,
 * one full backward per trajectory, per-matrix gradient norms) beside prism-stream's tfjs scorer
 * (src/scorer/bench.ts), on the same model folder and the same token ids, with the same thread
 * count. Also cross-checks the two implementations' norms and losses.
 */
export interface TorchOptions {
  presets: Preset[];
  batch: number;
  seq: number;
  reps: number;
  backend: BackendChoice;
  /** Threads for torch (default: the tfjs backend's). */
  threads?: number;
  python?: string;
  attention: 'sdpa' | 'eager';
  logger: Logger;
  meta: { finish(): RunMeta };
  onPreset?: (preset: Preset) => void;
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
  parameters: number;
  /** trajectories/s of each tfjs path (helper 4's bench rows). */
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
  /** tfjs threads; torch ran with the same count. */
  threads: number;
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
function exportSequences(batch: number, seq: number, vocab: number): Exported {
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

/** Our norms and losses for the same trajectories (per-trajectory path, norms emitted). */
async function ourNorms(
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

export async function runTorchBench(o: TorchOptions): Promise<TorchResult> {
  const python = torchPython(o.python);
  const script = join(repoRoot(), 'bench', 'pytorch', 'prism_torch.py');
  const rows: TorchRow[] = [];
  let backend: BackendInfo | undefined;
  let threads = 0;
  for (const preset of o.presets) {
    o.onPreset?.(preset);
    const dir = await mkdtemp(join(tmpdir(), `prism-torch-${preset}-`));
    try {
      const model = initModel({ preset, arch: 'llama', seed: 0 });
      const vocab = model.config.vocab_size;
      const parameters = model.parameterCount();
      try {
        await saveModel(model, join(dir, 'model'));
      } finally {
        model.dispose();
      }
      const idsPath = join(dir, 'ids.json');
      await writeFile(idsPath, JSON.stringify(exportSequences(o.batch, o.seq, vocab)));

      o.logger.info({ preset }, 'torch bench: tfjs side');
      const [ours] = await runScorerBench({
        source: { modelDir: join(dir, 'model') },
        batch: o.batch,
        seq: o.seq,
        backends: [o.backend],
        reps: o.reps,
        logger: o.logger,
      });
      backend = ours.backend;
      threads = o.threads ?? backendThreads(ours.backend);
      const mine = await ourNorms(join(dir, 'model'), o.batch, o.seq, ours.backend.kind);

      o.logger.info({ preset, python, threads }, 'torch bench: PyTorch side');
      let out: TorchOutput;
      try {
        const { stdout } = await run(
          python,
          [
            script,
            '--model',
            join(dir, 'model'),
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
            env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
          },
        );
        out = JSON.parse(stdout.trim().split('\n').pop() ?? '') as TorchOutput;
      } catch (err) {
        throw new BenchError(
          'TORCH_UNAVAILABLE',
          `${python} ${script} failed: ${errorMessage(err).split('\n').slice(-6).join(' | ')}`,
          { cause: err },
        );
      }

      let maxRel = 0;
      let maxLoss = 0;
      out.norms.forEach((row, i) => {
        row.forEach((v, j) => {
          maxRel = Math.max(maxRel, Math.abs(mine.norms[i][j] - v) / Math.max(Math.abs(v), 1e-12));
        });
        maxLoss = Math.max(maxLoss, Math.abs(mine.losses[i] - out.losses[i]));
      });
      const tps = Object.fromEntries(ours.rows.map((r) => [r.name, r.trajectoriesPerSec])) as Record<
        BenchRow['name'],
        number
      >;
      const { losses: _l, norms: _n, ...torchSide } = out;
      rows.push({
        preset,
        batch: o.batch,
        seq: o.seq,
        parameters,
        ours: tps,
        torch: torchSide,
        referenceVsTorch: tps.reference / out.trajectoriesPerSec,
        batchedVsTorch: tps.batched / out.trajectoriesPerSec,
        maxRelNormDiff: maxRel,
        maxAbsLossDiff: maxLoss,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (backend === undefined) throw new BenchError('TORCH_UNAVAILABLE', 'no preset was run');
  return { kind: 'torch', meta: o.meta.finish(), backend, threads, python, reps: o.reps, rows };
}
