/**
 * `prism bench profile`: where the time of one micro-batch goes, op by op, on both sides of
 * `prism bench torch`, in one run on the same model folder and token ids.
 *
 * Ours: the real PrismScorer (native backend by default, the configuration's default memory cap, the
 * path `auto` picks unless forced) on the bench's synthetic trajectories: one warm-up call (auto's
 * calibration), `reps` unprofiled calls for the wall time, then `profiled` calls under `tf.profile` with each
 * kernel tagged by scorer phase (profile-hooks.ts), in a child process. PyTorch (run first, in its own
 * child, see runProfile): one of its two ways to the same norms (`torchWay`), the paper loop of
 * prism_torch.py or hooks_torch.py's batched per-example norms, under torch.profiler
 * (bench/pytorch/profile_torch.py), same threads, OMP_WAIT_POLICY=PASSIVE.
 * Result: bench/results/profile-<preset|folder>-<B>x<T>[-hooks].json (see profile-table.ts for the table).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { selectBackend, type BackendChoice, type BackendInfo } from '../backend/index.ts';
import { maxBatchBytesOf, scorerSection } from '../config/scorer.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Preset } from '../model/config.ts';
import { CONFIG_FILE, parseConfigText } from '../model/hf-folder.ts';
import { initModel } from '../model/llama.ts';
import { saveModel } from '../model-store/llama.ts';
import { syntheticTrajectories } from '../scorer-host/bench.ts';
import { openProbeModel } from '../scorer-host/open.ts';
import type { ScorerPathSetting } from '../config/scorer.ts';
import { PrismScorer } from '../scorer/prism-scorer.ts';
import { BenchError } from './errors.ts';
import { prismJsonChild } from './prism-child.ts';
import type { RunMeta } from './machine.ts';
import { repoRoot } from './paths.ts';
import {
  gapByCategory,
  summarise,
  type GapRow,
  type OpSample,
  type SideProfile,
} from './profile-aggregate.ts';
import { PhaseTracker, profileKernels } from './profile-hooks.ts';
import { exportSequences, threadEnv, torchPython } from './torch.ts';
import type { TorchWay } from './torch-way.ts';

export type { TorchWay } from './torch-way.ts';

const run = promisify(execFile);

export interface ProfileOptions {
  source: { preset: Preset } | { modelDir: string };
  batch: number;
  seq: number;
  /** Unprofiled timed calls per side (after one warm-up). */
  reps: number;
  /** Batches scored under the profiler per side (their op times add up). */
  profiled: number;
  threads: number;
  path: ScorerPathSetting;
  backend: BackendChoice;
  python?: string;
  attention: 'sdpa' | 'eager';
  /** Which PyTorch way the other side profiles (default loop). */
  torchWay?: TorchWay;
  logger: Logger;
  meta: { finish(): RunMeta };
}

export interface ProfileSide {
  /** Mean wall time per batch without a profiler, ms. */
  wallMsPerBatch: number;
  /** Wall time of the profiled batches, ms (profiling adds overhead per op). */
  profiledWallMs: number;
  /** How many batches the profile covers. */
  profiledBatches: number;
  profile: SideProfile;
}

export interface OursSide extends ProfileSide {
  backend: BackendInfo;
  /** The path that scored the profiled batch. */
  path: string | undefined;
  kernels: number;
}

export interface TorchProfileSide extends ProfileSide {
  torch: string;
  transformers: string;
  threads: number;
  /** Results written before the hook way existed have no `way`: they profiled the loop (see torchWayOf). */
  way?: TorchWay;
  method: string;
}

export interface ProfileResult {
  kind: 'profile';
  meta: RunMeta;
  model: { id: string; parameters: number; layers: number; hidden: number; vocab: number };
  batch: number;
  seq: number;
  threads: number;
  /** The thread settings this process ran under (TF reads them at start-up). */
  env: Record<string, string | null>;
  ours: OursSide;
  torch: TorchProfileSide;
  /** PyTorch's wall / ours, per batch (> 1: we are faster). */
  speedVsTorch: number;
  /** Per op family: estimated ms per batch on each side and the difference. */
  gap: GapRow[];
  /** What the kernel times include, per side. */
  notes: string[];
}

export const PROFILE_NOTES = [
  'tfjs: kernelTimeMs is tfjs-node’s backend.time(): process.hrtime around the kernel call on the JS thread, i.e. the synchronous TensorFlow eager op (TFE_Execute on the intra-op pool) plus its binding and tensor bookkeeping; not disposal, reads, or the JS between kernels (that is the "(untracked …)" row = profiled wall − Σ kernel self times). A custom-gradient op’s time includes the kernels its forward ran; only its self time is counted.',
  'PyTorch: self CPU time per op from torch.profiler (exclusive of child ops); "(python between ops)" is the self time of the forward/backward/norms ranges, i.e. Python and dispatch outside any op; autograd::*/…Backward0 nodes are autograd bookkeeping.',
  'Matmul FLOPs: ours from each BatchMatMul’s recorded shapes (attention’s QKᵀ and PV included); PyTorch’s from the profiler’s with_flops estimate for aten::mm/bmm/addmm: its fused SDPA attention carries no FLOP count, so PyTorch’s matmul GFLOP exclude attention.',
  'Shares, not speeds: the machine is shared and loaded (see meta.loadStart/loadEnd); the gap table scales each side’s profiled shares to its unprofiled wall time, an estimate.',
];

/** The PyTorch way a profile result compared with. */
export function torchWayOf(r: Pick<ProfileResult, 'torch'>): TorchWay {
  return r.torch.way ?? 'loop';
}

/** `profile-<preset or folder name>-<B>x<T>.json`, `…-hooks.json` against PyTorch's hook way. */
export function profileFileName(o: Pick<ProfileOptions, 'source' | 'batch' | 'seq' | 'torchWay'>): string {
  const name = 'preset' in o.source ? o.source.preset : basename(o.source.modelDir);
  const way = (o.torchWay ?? 'loop') === 'loop' ? '' : `-${o.torchWay}`;
  return `profile-${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${o.batch}x${o.seq}${way}.json`;
}

export type OursProfile = { side: OursSide; model: ProfileResult['model'] };

export type OursSideOptions = Pick<
  ProfileOptions,
  'batch' | 'seq' | 'reps' | 'profiled' | 'path' | 'backend' | 'logger'
>;

/** Our side in this process (what `prism bench profile --ours-only` runs in the child, see oursInChild). */
export async function oursSide(o: OursSideOptions, modelDir: string): Promise<OursProfile> {
  const backend = await selectBackend(o.backend, { logger: o.logger });
  const probe = await openProbeModel({ modelDir });
  const tracker = new PhaseTracker();
  const c = probe.model.config;
  const scorer = new PrismScorer({
    model: tracker.wrap(probe.model),
    tokenizer: probe.tokenizer,
    ...probe.identity,
    backend: backend.kind,
    maxSeqLen: o.seq + 1,
    batchSize: o.batch,
    maxBatchBytes: maxBatchBytesOf(scorerSection.parse({}).maxBatchMemoryMB),
    emitNorms: false,
    path: o.path,
    ownsModel: false,
    logger: o.logger,
  });
  try {
    const trajs = syntheticTrajectories(o.batch, o.seq, c.vocab_size);
    const check = async (): Promise<void> => {
      const bad = (await scorer.scoreBatch(trajs)).find((r) => !r.ok);
      if (bad !== undefined && !bad.ok) throw bad.error;
    };
    await check(); // warm-up; auto's calibration
    const t0 = performance.now();
    for (let r = 0; r < o.reps; r++) await check();
    const wallMsPerBatch = (performance.now() - t0) / o.reps;
    o.logger.info({ path: scorer.path, wallMsPerBatch }, 'profile: tfjs side timed; profiling');
    const k = await profileKernels(tracker, async () => {
      for (let r = 0; r < o.profiled; r++) await check();
    });
    const samples: OpSample[] = [
      ...k.samples,
      untracked('JS between kernels, dispose, reads', k.wallMs, k.samples),
    ];
    return {
      side: {
        backend,
        path: scorer.path,
        kernels: k.kernels,
        wallMsPerBatch,
        profiledWallMs: k.wallMs,
        profiledBatches: o.profiled,
        profile: summarise(samples),
      },
      model: {
        id: probe.identity.probeModelId,
        parameters: probe.model.parameterCount(),
        layers: c.num_hidden_layers,
        hidden: c.hidden_size,
        vocab: c.vocab_size,
      },
    };
  } finally {
    scorer.dispose();
    probe.model.dispose();
  }
}

/** The profiled wall time no op accounts for, as one sample (never negative). */
function untracked(what: string, wallMs: number, samples: readonly OpSample[]): OpSample {
  const ms = Math.max(0, wallMs - samples.reduce((s, x) => s + x.ms, 0));
  return { name: `(untracked: ${what})`, phase: 'untracked', ms, calls: 1, flops: 0 };
}

interface TorchJson {
  torch: string;
  transformers: string;
  threads: number;
  way?: TorchWay;
  method: string;
  wallMsPerBatch: number;
  profiledWallMs: number;
  ops: { phase: string; name: string; selfMs: number; calls: number; flops: number }[];
}

async function torchSide(o: ProfileOptions, modelDir: string, idsPath: string): Promise<TorchProfileSide> {
  const python = torchPython(o.python);
  const script = join(repoRoot(), 'bench', 'pytorch', 'profile_torch.py');
  const args = [script, '--model', modelDir, '--ids', idsPath, '--threads', String(o.threads)];
  args.push('--reps', String(o.reps), '--profiled', String(o.profiled), '--attn', o.attention);
  args.push('--method', o.torchWay ?? 'loop');
  let out: TorchJson;
  try {
    const { stdout } = await run(python, args, {
      maxBuffer: 64 * 2 ** 20,
      timeout: 3_600_000,
      env: { ...threadEnv(o.threads), OMP_WAIT_POLICY: 'PASSIVE' },
    });
    out = JSON.parse(stdout.trim().split('\n').pop() ?? '') as TorchJson;
  } catch (err) {
    throw new BenchError(
      'TORCH_UNAVAILABLE',
      `${python} ${script} failed: ${errorMessage(err).split('\n').slice(-6).join(' | ')}`,
      { cause: err },
    );
  }
  const ops: OpSample[] = out.ops.map((op) => ({
    name: op.name,
    phase: op.phase,
    ms: op.selfMs,
    calls: op.calls,
    flops: op.flops,
  }));
  ops.push(untracked('outside ops and phase ranges', out.profiledWallMs, ops));
  return {
    torch: out.torch,
    transformers: out.transformers,
    threads: out.threads,
    way: out.way ?? o.torchWay ?? 'loop',
    method: out.method,
    wallMsPerBatch: out.wallMsPerBatch,
    profiledWallMs: out.profiledWallMs,
    profiledBatches: o.profiled,
    profile: summarise(ops),
  };
}

/**
 * Our side in a fresh child (`prism bench profile --model DIR … --ours-only`), as PyTorch's side runs in
 * its own: neither then runs in a process another side has used (see runProfile).
 */
async function oursInChild(o: ProfileOptions, modelDir: string): Promise<OursProfile> {
  const args = ['bench', 'profile', '--model', modelDir, '--batch', String(o.batch), '--seq', String(o.seq)];
  args.push('--reps', String(o.reps), '--profiled', String(o.profiled), '--threads', String(o.threads));
  args.push('--path', o.path, '--backend', o.backend, '--ours-only');
  const env = { ...threadEnv(o.threads), OMP_WAIT_POLICY: 'PASSIVE' };
  return prismJsonChild<OursProfile>(args, env, 'prism bench profile --ours-only', 64 * 2 ** 20);
}

const ENV_KEYS = ['TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS', 'OMP_NUM_THREADS', 'OMP_WAIT_POLICY'];

export async function runProfile(o: ProfileOptions): Promise<ProfileResult> {
  const dir = await mkdtemp(join(tmpdir(), 'prism-profile-'));
  try {
    let modelDir: string;
    if ('preset' in o.source) {
      modelDir = join(dir, 'model');
      const m = initModel({ preset: o.source.preset, arch: 'llama', seed: 0 });
      try {
        await saveModel(m, modelDir);
      } finally {
        m.dispose();
      }
    } else modelDir = o.source.modelDir;
    // Each side in its own fresh child, PyTorch's first. When PyTorch's ran from the process that had
    // just held our 0.5 B model, its page faults cost 5× the system time and the hook way ran 3× slower
    // (q05b 4×128: 27 s vs 5 s of system time, 16.2 vs 5.5 s per batch); ours run in the process after a
    // PyTorch child had used 7 GB was once 14 % slower (m60 16×512).
    const vocab = parseConfigText(await readFile(join(modelDir, CONFIG_FILE), 'utf8'), modelDir).vocab_size;
    const idsPath = join(dir, 'ids.json');
    await writeFile(idsPath, JSON.stringify(exportSequences(o.batch, o.seq, vocab)));
    o.logger.info({ modelDir, way: o.torchWay ?? 'loop' }, 'profile: PyTorch side');
    const torch = await torchSide(o, modelDir, idsPath);
    o.logger.info({ modelDir, batch: o.batch, seq: o.seq }, 'profile: tfjs side');
    const { side: ours, model } = await oursInChild(o, modelDir);
    return {
      kind: 'profile',
      meta: o.meta.finish(),
      model: { ...model, id: 'preset' in o.source ? o.source.preset : basename(modelDir) },
      batch: o.batch,
      seq: o.seq,
      threads: o.threads,
      env: Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k] ?? null])),
      ours,
      torch,
      speedVsTorch: torch.wallMsPerBatch / ours.wallMsPerBatch,
      gap: gapByCategory(ours, torch),
      notes: PROFILE_NOTES,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
