/**
 * `prism bench torch --model DIR[,DIR…] --seqs 128,512,…`: the memory and speed grid against
 * PyTorch on any Hugging Face folders. Every configuration runs in a fresh child process on each
 * side, so peak RSS figures never mix: ours is `prism bench scorer --model DIR --rows auto --json`
 * (the default configuration, memory cap included, after its path calibration); PyTorch's is the
 * paper's loop (bench/pytorch/prism_torch.py) run under a wrapper that reports its own
 * getrusage(RUSAGE_SELF).ru_maxrss. Both sides use the same thread count and OMP_WAIT_POLICY=PASSIVE.
 * A third child runs PyTorch's other way, batched per-example norms from hooks (bench/pytorch/hooks_torch.py,
 * the project's scorer service in process): issue 14 compares against the faster of the two.
 */
import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { selectBackend } from '../backend/index.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ScorerBenchResult } from '../scorer-host/bench.ts';
import { measureCeiling } from './ceiling/ceiling.ts';
import { BenchError, childEnding } from './errors.ts';
import { repoRoot } from './paths.ts';
import {
  compare,
  exportSequences,
  ourNorms,
  oursAt,
  threadEnv,
  torchPython,
  type TorchOptions,
} from './torch.ts';

const run = promisify(execFile);

export interface GridConfig {
  model: string;
  batch: number;
  seq: number;
}

export interface GridRow extends GridConfig {
  parameters: number;
  threads: number;
  oursPath: string | undefined;
  oursTrajPerSec: number;
  torchTrajPerSec: number;
  /** ours / PyTorch paper loop, traj/s. */
  speedVsTorch: number;
  /** PyTorch's hook-based batched norms (hooks_torch.py), traj/s; NaN when that side failed (see hooksError);
   *  absent in rows from before it was run. */
  torchHooksTrajPerSec?: number;
  /** That side's peak RSS (absent in rows from before it was recorded, and where it failed). */
  torchHooksPeakRssMB?: number;
  hooksError?: string;
  /** ours / the faster of PyTorch's two, traj/s (when the hook side ran). */
  speedVsTorchBest?: number;
  oursPeakRssMB: number;
  torchPeakRssMB: number;
  /** ours / PyTorch, peak RSS. */
  rssVsTorch: number;
  /** Largest relative norm difference (only with --check). */
  maxRelNormDiff: number | null;
  /** Largest |Gini ours − Gini PyTorch loop| over the batch (the score itself); absent where not checked. */
  maxGiniDiff?: number;
  /** Our chosen path's counted GFLOP/s (src/scorer/flops.ts) and this machine's fp32 matmul ceiling, measured
   *  once per grid run (src/bench/ceiling); absent in rows from before they were recorded. */
  oursGflopPerSec?: number;
  ceilingGflops?: number;
  /** auto's calibration on this batch: both paths' wall time (absent for one-trajectory batches). */
  calibration?: { batchedMs: number; perTrajectoryMs: number };
  error?: string;
}

export interface GridOptions {
  configs: GridConfig[];
  threads: number;
  reps: number;
  backend: TorchOptions['backend'];
  python?: string;
  attention: 'sdpa' | 'eager';
  check: boolean;
  logger: Logger;
}

/** Runs a script as `python script.py` would (its folder first on sys.path), then prints its peak RSS. */
const PEAK_WRAPPER = [
  'import os, resource, runpy, sys',
  'script = sys.argv[1]',
  'sys.argv = sys.argv[1:]',
  'sys.path.insert(0, os.path.dirname(os.path.abspath(script)))',
  'try:',
  '    runpy.run_path(script, run_name="__main__")',
  'finally:',
  '    sys.stderr.write("PRISM_PEAK_RSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)',
].join('\n');

function env(threads: number): NodeJS.ProcessEnv {
  return { ...threadEnv(threads), OMP_WAIT_POLICY: 'PASSIVE' };
}

async function torchWithPeak(
  o: GridOptions,
  python: string,
  c: GridConfig,
  idsPath: string,
  impl: 'prism_torch' | 'hooks_torch' = 'prism_torch',
): Promise<{ out: { trajectoriesPerSec: number; norms: number[][]; losses: number[] }; peakMB: number }> {
  const script = join(repoRoot(), 'bench', 'pytorch', `${impl}.py`);
  const args = ['-c', PEAK_WRAPPER, script, '--model', c.model, '--ids', idsPath];
  args.push('--threads', String(o.threads), '--reps', String(o.reps));
  if (impl === 'prism_torch') args.push('--attn', o.attention);
  try {
    const { stdout, stderr } = await run(python, args, {
      maxBuffer: 256 * 2 ** 20,
      timeout: 3_600_000,
      env: env(o.threads),
    });
    const kb = /PRISM_PEAK_RSS_KB=(\d+)/.exec(stderr);
    return {
      out: JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
        trajectoriesPerSec: number;
        norms: number[][];
        losses: number[];
      },
      peakMB: kb ? Number(kb[1]) / 1024 : Number.NaN,
    };
  } catch (err) {
    throw new BenchError(
      'TORCH_UNAVAILABLE',
      `${python} ${script} failed${childEnding(err) === '' ? '' : ` (${childEnding(err)})`}: ` +
        errorMessage(err).split('\n').slice(-4).join(' | '),
      {
        cause: err,
      },
    );
  }
}

/** The hook side; its failure (e.g. prism_stream not installed) is recorded in the row, not fatal to it. */
async function torchHooks(
  o: GridOptions,
  python: string,
  c: GridConfig,
  idsPath: string,
): Promise<{ torchHooksTrajPerSec: number; torchHooksPeakRssMB?: number; hooksError?: string }> {
  try {
    const h = await torchWithPeak(o, python, c, idsPath, 'hooks_torch');
    return { torchHooksTrajPerSec: h.out.trajectoriesPerSec, torchHooksPeakRssMB: h.peakMB };
  } catch (err) {
    o.logger.warn({ ...c, err: errorMessage(err) }, 'torch grid: PyTorch hooks side failed');
    return { torchHooksTrajPerSec: Number.NaN, hooksError: errorMessage(err).slice(0, 300) };
  }
}

/**
 * The folder's vocabulary size; refuses a T over its max_position_embeddings, where our scorer would
 * truncate (scorer.maxSeqLen is capped at the model limit) while transformers scores every position,
 * so the two sides would not do the same work.
 */
async function vocabFor(dir: string, seq: number): Promise<number> {
  const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
    vocab_size: number;
    max_position_embeddings?: number;
  };
  const maxPos = cfg.max_position_embeddings ?? Number.POSITIVE_INFINITY;
  if (seq > maxPos)
    throw new BenchError(
      'SHAPE_UNSUPPORTED',
      `T ${seq} is over ${basename(dir)}'s max_position_embeddings ${maxPos}: our scorer would truncate while PyTorch ` +
        'would not; raise max_position_embeddings in its config.json (RoPE has no learned positions) or drop the row',
    );
  return cfg.vocab_size;
}

async function one(
  o: GridOptions,
  python: string,
  c: GridConfig,
  ceilingGflops: number | undefined,
): Promise<GridRow> {
  const dir = await mkdtemp(join(tmpdir(), 'prism-grid-'));
  try {
    const idsPath = join(dir, 'ids.json');
    await writeFile(idsPath, JSON.stringify(exportSequences(c.batch, c.seq, await vocabFor(c.model, c.seq))));
    o.logger.info({ ...c }, 'torch grid: tfjs side');
    const ours: ScorerBenchResult = await oursAt(
      o.threads,
      { batch: c.batch, seq: c.seq, reps: o.reps, backend: o.backend, rows: ['auto'], env: env(o.threads) },
      c.model,
    );
    o.logger.info({ ...c }, 'torch grid: PyTorch side');
    const t = await torchWithPeak(o, python, c, idsPath);
    o.logger.info({ ...c }, 'torch grid: PyTorch hooks side');
    const hooks = await torchHooks(o, python, c, idsPath);
    const autoRow = ours.rows.find((r) => r.name === 'auto');
    const oursTps = autoRow?.trajectoriesPerSec ?? Number.NaN;
    const agreement = o.check
      ? compare(await ourNorms(c.model, c.batch, c.seq, ours.backend.kind), t.out as never)
      : undefined;
    return {
      ...c,
      parameters: ours.model.parameters,
      threads: o.threads,
      oursPath: autoRow?.path,
      oursTrajPerSec: oursTps,
      torchTrajPerSec: t.out.trajectoriesPerSec,
      speedVsTorch: oursTps / t.out.trajectoriesPerSec,
      ...hooks,
      ...(Number.isFinite(hooks.torchHooksTrajPerSec)
        ? { speedVsTorchBest: oursTps / Math.max(t.out.trajectoriesPerSec, hooks.torchHooksTrajPerSec) }
        : {}),
      oursPeakRssMB: ours.peakRssMB ?? Number.NaN,
      torchPeakRssMB: t.peakMB,
      rssVsTorch: (ours.peakRssMB ?? Number.NaN) / t.peakMB,
      maxRelNormDiff: agreement?.maxRel ?? null,
      ...(agreement === undefined ? {} : { maxGiniDiff: agreement.maxGini }),
      oursGflopPerSec: autoRow?.gflopPerSec ?? Number.NaN,
      ...(ceilingGflops === undefined ? {} : { ceilingGflops }),
      ...(ours.calibration === undefined
        ? {}
        : {
            calibration: {
              batchedMs: ours.calibration.batchedMs,
              perTrajectoryMs: ours.calibration.perTrajectoryMs,
            },
          }),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The fp32 matmul ceiling at the grid's thread count, once per run; undefined (logged) where it cannot be measured. */
async function gridCeiling(o: GridOptions): Promise<number | undefined> {
  try {
    const c = await measureCeiling({ threads: o.threads, logger: o.logger });
    o.logger.info(
      { gflops: c.gflops, method: c.method, threads: c.threads },
      'torch grid: fp32 matmul ceiling',
    );
    return c.gflops;
  } catch (err) {
    o.logger.warn({ err: errorMessage(err) }, 'torch grid: fp32 matmul ceiling not measured');
    return undefined;
  }
}

/** Runs every configuration; a configuration that fails is reported with its error, never estimated. */
export async function runTorchGrid(o: GridOptions): Promise<GridRow[]> {
  const python = torchPython(o.python);
  // The --check cross-check scores in this process: on the same backend as the children, not tfjs's default.
  if (o.check) await selectBackend(o.backend, { logger: o.logger });
  const ceiling = await gridCeiling(o);
  const rows: GridRow[] = [];
  for (const c of o.configs) {
    try {
      rows.push(await one(o, python, c, ceiling));
    } catch (err) {
      o.logger.error({ ...c, err: errorMessage(err) }, 'torch grid: configuration failed');
      rows.push({
        ...c,
        parameters: Number.NaN,
        threads: o.threads,
        oursPath: undefined,
        oursTrajPerSec: Number.NaN,
        torchTrajPerSec: Number.NaN,
        speedVsTorch: Number.NaN,
        oursPeakRssMB: Number.NaN,
        torchPeakRssMB: Number.NaN,
        rssVsTorch: Number.NaN,
        maxRelNormDiff: null,
        error: errorMessage(err).slice(0, 300),
      });
    }
  }
  return rows;
}

export function gridTable(rows: readonly GridRow[]): string {
  const f = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '—');
  const gb = (mb: number): string => (Number.isFinite(mb) ? (mb / 1024).toFixed(2) : '—');
  const share = (r: GridRow): string =>
    r.oursGflopPerSec === undefined || !Number.isFinite(r.oursGflopPerSec)
      ? '—'
      : `${r.oursGflopPerSec.toFixed(1)}${r.ceilingGflops === undefined ? '' : ` (${((100 * r.oursGflopPerSec) / r.ceilingGflops).toFixed(1)} % of ${r.ceilingGflops.toFixed(0)})`}`;
  const hooks = (r: GridRow): string =>
    r.hooksError !== undefined
      ? `failed${/SIGKILL/.test(r.hooksError) ? ' (killed: out of memory?)' : ''}`
      : r.torchHooksTrajPerSec === undefined
        ? '—'
        : f(r.torchHooksTrajPerSec, 3);
  const calib = (r: GridRow): string =>
    r.calibration === undefined
      ? '—'
      : `${(r.calibration.perTrajectoryMs / r.calibration.batchedMs).toFixed(2)}×`;
  return [
    '| model | params | B×T | threads | ours path (auto) | per-trajectory ÷ batched wall time (auto’s calibration) | ours traj/s | PyTorch paper loop traj/s | speed vs PyTorch | PyTorch hooks traj/s | speed vs PyTorch’s faster | ours GFLOP/s (% of fp32 matmul ceiling) | ours peak RSS GB | PyTorch peak RSS GB | RSS vs PyTorch | PyTorch hooks peak RSS GB | max rel. norm diff | max Gini diff |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${basename(r.model)} | ${Number.isFinite(r.parameters) ? `${(r.parameters / 1e6).toFixed(1)} M` : '—'} | ${r.batch}×${r.seq} | ${r.threads} | ${r.error !== undefined ? `failed: ${r.error.slice(0, 80)}` : (r.oursPath ?? '?')} | ${calib(r)} | ${f(r.oursTrajPerSec, 3)} | ${f(r.torchTrajPerSec, 3)} | ${f(r.speedVsTorch)}× | ${hooks(r)} | ${r.speedVsTorchBest === undefined ? '—' : `${f(r.speedVsTorchBest)}×`} | ${share(r)} | ${gb(r.oursPeakRssMB)} | ${gb(r.torchPeakRssMB)} | ${f(r.rssVsTorch)}× | ${r.torchHooksPeakRssMB === undefined ? '—' : gb(r.torchHooksPeakRssMB)} | ${r.maxRelNormDiff === null ? 'not checked' : r.maxRelNormDiff.toExponential(1)} | ${r.maxGiniDiff === undefined ? '—' : r.maxGiniDiff.toExponential(1)} |`,
    ),
  ].join('\n');
}

/**
 * torch-grid.json's rows after a run: a re-measured row (same model, B, T and threads) takes the old
 * one's place, so the grid keeps its order; rows of new configurations follow, in run order.
 */
export function mergeGridRows<R extends Record<string, unknown>>(
  previous: readonly R[],
  fresh: readonly R[],
): R[] {
  const key = (r: R): string => `${String(r.model)}|${String(r.batch)}|${String(r.seq)}|${String(r.threads)}`;
  const byKey = new Map(fresh.map((r) => [key(r), r]));
  const out = previous.map((p) => {
    const r = byKey.get(key(p));
    byKey.delete(key(p));
    return r ?? p;
  });
  return [...out, ...byKey.values()];
}
