/**
 * GPU side of the GPU check, bundled by scripts/gpu/stage into one file (gpu-check.mjs) and run by
 * scripts/gpu/run on the GPU host with the carried Node binary:
 *
 *   node gpu-check.mjs --reference reference.json --models DIR --out FILE [--budget-s 240] [--backend webgpu]
 *
 * 1. selects the webgpu backend on a hardware adapter (software adapters are refused: exit 3 and a
 *    "no-gpu" result, never CPU numbers reported as GPU ones);
 * 2. backend agreement: re-creates the reference presets from their seeds, scores the same token ids
 *    and compares with the CPU scores carried from the stage machine (1e-4 relative);
 * 3. scorer rows (batched, per-trajectory, paper loop) for tiny, small and the transformers-written
 *    folders in --models at T = 512 and 2048, B = 16, until the --budget-s deadline.
 * The result file is rewritten after every step, so a kill still leaves everything measured so far.
 */
import { readFile } from 'node:fs/promises';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { selectBackend } from '../select.ts';
import { initModel, type LlamaModel } from '../../model/index.ts';
import { loadModel } from '../../model-store/llama.ts';
import {
  AGREEMENT_TOLERANCE,
  compareWithReference,
  driverScores,
  productDriverScores,
  type DriverScores,
  type ReferenceFile,
} from './agreement.ts';
import { benchRow, type BenchContext, type GpuRow, type RowPath } from './bench.ts';
import type { GpuCheckResult } from './result.ts';

interface Args {
  reference: string;
  models: string | undefined;
  /** Folder names expected under --models (written concurrently by make_models.py; waited for). */
  modelNames: string[];
  probe: boolean;
  out: string;
  budgetS: number;
  backend: string;
  seqs: number[];
  batch: number;
}

function parseArgs(argv: string[]): Args {
  const get = (k: string): string | undefined => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const reference = get('--reference');
  const out = get('--out');
  if (!argv.includes('--probe') && (reference === undefined || out === undefined))
    throw new Error(
      'usage: gpu-check.mjs --reference FILE --out FILE [--models DIR] [--budget-s N] [--backend webgpu]',
    );
  return {
    reference: reference ?? '',
    out: out ?? '',
    models: get('--models'),
    modelNames: (get('--model-names') ?? '').split(',').filter((n) => n !== ''),
    probe: argv.includes('--probe'),
    budgetS: Number(get('--budget-s') ?? '240'),
    backend: get('--backend') ?? 'webgpu',
    seqs: (get('--seqs') ?? '512,2048').split(',').map(Number),
    batch: Number(get('--batch') ?? '16'),
  };
}

function flush(path: string, r: GpuCheckResult): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(r, null, 1)}\n`);
  renameSync(`${path}.tmp`, path);
}

// Literal specifiers so esbuild bundles both optional packages into gpu-check.mjs (dawn.node stays a file).
const bundledImports = {
  gpuVisible: (): boolean => false,
  importModule: async (spec: string): Promise<unknown> => {
    if (spec === 'webgpu') return import('webgpu');
    if (spec === '@tensorflow/tfjs-backend-webgpu') return import('@tensorflow/tfjs-backend-webgpu');
    return import(spec);
  },
};

interface BenchModel {
  name: string;
  open(): Promise<LlamaModel>;
}

/** Waits for a folder make_models.py is still writing (it renames NAME.tmp to NAME when done). */
async function waitForFolder(path: string, deadline: number): Promise<void> {
  while (!existsSync(path)) {
    if (performance.now() >= deadline)
      throw new Error(`${path} was not written before the time budget ran out`);
    await sleep(500);
  }
}

function benchModels(args: Args, deadline: number): BenchModel[] {
  const list: BenchModel[] = [
    { name: 'tiny', open: async () => initModel({ preset: 'tiny', arch: 'llama', seed: 1 }) },
    { name: 'small', open: async () => initModel({ preset: 'small', arch: 'llama', seed: 1 }) },
  ];
  const dir = args.models;
  if (dir === undefined) return list;
  // Folders written on the host by scripts/gpu/make_models.py, smallest first.
  for (const name of args.modelNames)
    list.push({
      name,
      open: async () => {
        await waitForFolder(join(dir, name), deadline);
        return loadModel(join(dir, name));
      },
    });
  return list;
}

const quietLogger = pino({ level: 'warn' }, process.stderr);

async function agreement(args: Args, res: GpuCheckResult, deadline: number): Promise<void> {
  const ref = JSON.parse(await readFile(args.reference, 'utf8')) as ReferenceFile;
  for (const m of ref.models) {
    const base = { name: m.name, parameters: m.parameters, batch: m.batch, seq: m.seq };
    if (performance.now() >= deadline) {
      res.agreement.push({
        ...base,
        referenceBackend: ref.backend,
        maxRelErr: null,
        pass: false,
        error: 'skipped: time budget',
      });
      continue;
    }
    const model = initModel({ preset: m.preset, arch: m.arch, seed: m.seed });
    // The async driver, then the product scorer itself (what prism score / prism run compute on webgpu).
    const scorers: Array<[string, () => Promise<DriverScores>]> = [
      [m.name, () => driverScores(model, m)],
      [`${m.name} (PrismScorer)`, () => productDriverScores(model, m, quietLogger)],
    ];
    try {
      for (const [name, scores] of scorers) {
        try {
          res.agreement.push({
            ...compareWithReference(m, await scores(), ref.backend, AGREEMENT_TOLERANCE),
            name,
          });
        } catch (err) {
          const error = err instanceof Error ? err.message.split('\n')[0] : String(err);
          res.agreement.push({
            ...base,
            name,
            referenceBackend: ref.backend,
            maxRelErr: null,
            pass: false,
            error,
          });
        }
        flush(args.out, res);
      }
    } finally {
      model.dispose();
    }
  }
}

async function rows(args: Args, res: GpuCheckResult, ctx: BenchContext): Promise<void> {
  const paths: RowPath[] = ['batched', 'per-trajectory', 'reference'];
  const models = benchModels(args, ctx.deadline);
  // Every model at the first T (smallest first); at longer T the largest first, so the ~0.5 B row that
  // PyTorch on the same GPU also measures (torch_check.py's 0.5B at T = 2048) is reached before tiny/small.
  for (const [i, seq] of args.seqs.entries()) {
    for (const m of i === 0 ? models : [...models].reverse()) {
      const base = (path: RowPath, p: number): GpuRow => ({
        model: m.name,
        parameters: p,
        batch: args.batch,
        seq,
        path,
        status: '',
      });
      if (performance.now() >= ctx.deadline) {
        for (const path of paths) res.rows.push({ ...base(path, 0), status: 'skipped: time budget' });
        continue;
      }
      let model: LlamaModel | undefined;
      try {
        model = await m.open();
        for (const path of paths) {
          res.rows.push(await benchRow(model, base(path, model.parameterCount()), ctx));
          flush(args.out, res);
        }
      } catch (err) {
        for (const path of paths)
          res.rows.push({
            ...base(path, 0),
            status: `error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
          });
      } finally {
        model?.dispose();
      }
      flush(args.out, res);
    }
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const res: GpuCheckResult = {
    kind: 'gpu-webgpu',
    status: 'running',
    startedAt: new Date().toISOString(),
    budgetS: args.budgetS,
    node: process.version,
    peakFp32Tflops: Number(process.env.PRISM_GPU_FP32_PEAK_TFLOPS ?? '67'),
    peakSource: process.env.PRISM_GPU_FP32_PEAK_SOURCE ?? 'NVIDIA H200 SXM datasheet, plain fp32',
    agreement: [],
    rows: [],
  };
  const logger = pino({ level: 'info' }, process.stderr);
  try {
    res.backend = await selectBackend(args.backend as 'webgpu', {
      logger,
      asyncReads: true,
      env: bundledImports,
    });
    if (args.probe) {
      console.log(
        JSON.stringify({ ok: true, backend: res.backend.kind, adapter: res.backend.adapter ?? null }),
      );
      return 0;
    }
  } catch (err) {
    if (args.probe) {
      console.log(JSON.stringify({ ok: false, reason: err instanceof Error ? err.message : String(err) }));
      return 3;
    }
    res.status = 'no-gpu';
    res.reason = err instanceof Error ? err.message : String(err);
    res.finishedAt = new Date().toISOString();
    flush(args.out, res);
    console.error(`gpu-check: NO GPU: ${res.reason}`);
    return 3;
  }
  flush(args.out, res);
  const ctx: BenchContext = {
    deadline: started + args.budgetS * 1000,
    loopCapMs: 10_000,
    peakTflops: res.peakFp32Tflops,
    chunkBytes: 1 << 30,
  };
  await agreement(args, res, ctx.deadline);
  await rows(args, res, ctx);
  res.status = 'done';
  res.finishedAt = new Date().toISOString();
  flush(args.out, res);
  const failed = res.agreement.filter((a) => !a.pass).map((a) => a.name);
  console.error(`gpu-check: done; agreement ${failed.length === 0 ? 'PASS' : `FAIL (${failed.join(', ')})`}`);
  return failed.length === 0 ? 0 : 4;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
