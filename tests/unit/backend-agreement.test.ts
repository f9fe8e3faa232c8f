/**
 * The same probe model and trajectories score the same on every tfjs backend: cpu (pure JS), wasm
 * (XNNPACK) and — where `npm run setup:native` built it — tensorflow (tfjs-node, libtensorflow/oneDNN).
 * Norms and every statistic derived from them must agree within a relative error of 1e-4, on both
 * scorer paths, for a plain Llama and a qwen3 (per-head q/k RMSNorm) model, on mixed-length batches.
 *
 * Backends are switched inside one process. tfjs moves a tensor's data lazily: a kernel on the new
 * backend asks for a dataId it does not hold, and the engine reads it from the old backend, frees it
 * there and writes it to the new one. Numbers are therefore compared on models re-created on each
 * backend, and a separate test proves that a model created once and moved across backends scores the
 * same and leaks no tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeBackendStatus } from '../../src/backend/native-check.ts';
import { selectBackend, type BackendKind } from '../../src/backend/select.ts';
import { probeWebgpu } from '../../src/backend/webgpu.ts';
import {
  AGREEMENT,
  compareWithReference,
  driverScores,
  productDriverScores,
} from '../../src/backend/gpucheck/agreement.ts';
import type { ScorerPath } from '../../src/scorer/path.ts';
import { initModel, type LlamaModel } from '../../src/model/index.ts';
import type { Arch } from '../../src/model/config.ts';
import { PrismScorer } from '../../src/scorer/index.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';
import { sampleTrajectories, textTrajectory } from './scorer-fixtures.ts';

const quiet = pino({ level: 'silent' });
const native = nativeBackendStatus('@tensorflow/tfjs-node');
if (!native.available) console.warn(`[backend-agreement.test] tensorflow backend skipped: ${native.reason}`);

// webgpu runs only on a hardware adapter; it has no synchronous reads in Node, so it is checked through
// the GPU check's asynchronous driver (src/backend/gpucheck/) against PrismScorer on cpu.
const webgpu = await probeWebgpu({ importModule: (s) => import(s) });
if (!webgpu.ok) console.warn(`[backend-agreement.test] webgpu skipped: ${webgpu.reason}`);

const TOLERANCE = 1e-4;
const ARCH_LIST: readonly Arch[] = ['llama', 'qwen3'];
const PATHS: readonly ScorerPath[] = ['batched', 'per-trajectory'];
const FIELDS = ['gini', 'kurtosis', 'cv', 'l2', 'loss'] as const;
type Field = (typeof FIELDS)[number];

/** Mixed lengths (≈20 to ≈130 byte tokens) so micro-batches carry right padding. */
function trajectories(): Trajectory[] {
  return [
    ...sampleTrajectories(6),
    textTrajectory(
      'long',
      'task: find a mug, heat it, put it in the cabinet.',
      'go to shelf 1; take mug; '.repeat(3),
    ),
  ];
}

interface Scored {
  norms: number[];
  stats: Record<Field, number>;
  responseTokens: number;
}

type PathScores = Record<ScorerPath, Scored[]>;

async function useBackend(kind: BackendKind): Promise<void> {
  await selectBackend(kind, { logger: quiet });
  expect(tf.getBackend()).toBe(kind);
}

async function scoreWith(model: LlamaModel, path: ScorerPath): Promise<Scored[]> {
  const scorer = new PrismScorer({
    model,
    tokenizer: new ByteTokenizer(),
    probeModelId: 'agreement',
    probeModelVersion: 'v0',
    backend: tf.getBackend(),
    maxSeqLen: 256,
    batchSize: 4,
    emitNorms: true,
    path,
    ownsModel: false,
    logger: quiet,
  });
  try {
    const outcomes = await scorer.scoreBatch(trajectories());
    return outcomes.map((o) => {
      if (!o.ok) throw new Error(`${path} on ${tf.getBackend()}: ${o.error.code} ${o.error.message}`);
      const s = o.scores;
      return {
        norms: s.norms ?? [],
        stats: { gini: s.gini, kurtosis: s.kurtosis, cv: s.cv, l2: s.l2, loss: s.loss },
        responseTokens: s.response_tokens,
      };
    });
  } finally {
    scorer.dispose();
  }
}

async function scoreBothPaths(model: LlamaModel): Promise<PathScores> {
  return {
    batched: await scoreWith(model, 'batched'),
    'per-trajectory': await scoreWith(model, 'per-trajectory'),
  };
}

/** Scores on a model created on `kind` (its variables never move); checks the model leaves no tensor behind. */
const cache = new Map<string, Promise<PathScores>>();
function scoresOn(kind: BackendKind, arch: Arch): Promise<PathScores> {
  const key = `${kind}/${arch}`;
  let p = cache.get(key);
  if (p === undefined) {
    p = (async () => {
      await useBackend(kind);
      const before = tf.memory().numTensors;
      const model = initModel({ preset: 'tiny', arch, seed: 7 });
      try {
        return await scoreBothPaths(model);
      } finally {
        model.dispose();
        expect(tf.memory().numTensors, `tensors left on ${kind} (${arch})`).toBe(before);
      }
    })();
    cache.set(key, p);
  }
  return p;
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** Largest relative error of `got` against `want`, per quantity (norms: over every entry). */
function maxErrors(got: Scored[], want: Scored[]): Record<Field | 'norms', number> {
  const out = { norms: 0, gini: 0, kurtosis: 0, cv: 0, l2: 0, loss: 0 };
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => {
    const w = want[i];
    expect(g.responseTokens).toBe(w.responseTokens);
    expect(g.norms).toHaveLength(w.norms.length);
    g.norms.forEach((v, j) => (out.norms = Math.max(out.norms, relErr(v, w.norms[j]))));
    for (const f of FIELDS) out[f] = Math.max(out[f], relErr(g.stats[f], w.stats[f]));
  });
  return out;
}

/** Measured maxima, printed once at the end so a report can quote them. */
const measured: string[] = [];

function expectAgreement(label: string, got: PathScores, want: PathScores): void {
  for (const path of PATHS) {
    const errs = maxErrors(got[path], want[path]);
    measured.push(
      `${label} ${path}: ${Object.entries(errs)
        .map(([k, v]) => `${k} ${v.toExponential(1)}`)
        .join(', ')}`,
    );
    for (const [k, v] of Object.entries(errs)) expect(v, `${label} ${path} ${k}`).toBeLessThan(TOLERANCE);
  }
}

afterAll(async () => {
  if (measured.length > 0)
    console.info(`[backend-agreement.test] max relative errors:\n  ${measured.join('\n  ')}`);
  await tf.setBackend('cpu');
});

describe.each(ARCH_LIST)('scores agree across backends (tiny %s)', (arch) => {
  it('wasm matches cpu on norms, gini, kurtosis, cv, l2 and loss (batched and per-trajectory)', async () => {
    const cpu = await scoresOn('cpu', arch);
    const wasm = await scoresOn('wasm', arch);
    expect(cpu.batched[0].norms).toHaveLength(28);
    expect(cpu.batched.every((s) => s.stats.gini > 0 && s.stats.l2 > 0)).toBe(true);
    expectAgreement(`${arch} wasm vs cpu`, wasm, cpu);
  });
});

// Only where `npm run setup:native` built tfjs-node's addon; the reason is printed at collection time.
describe.skipIf(!native.available)('scores agree across backends: tensorflow (tfjs-node)', () => {
  it.each(ARCH_LIST)('tensorflow matches cpu and wasm (tiny %s, both paths)', async (arch) => {
    const cpu = await scoresOn('cpu', arch);
    const wasm = await scoresOn('wasm', arch);
    const tfn = await scoresOn('tensorflow', arch);
    expectAgreement(`${arch} tensorflow vs cpu`, tfn, cpu);
    expectAgreement(`${arch} tensorflow vs wasm`, tfn, wasm);
  });
});

describe.skipIf(!webgpu.ok)('scores agree across backends: webgpu (Dawn, hardware adapter)', () => {
  it.each(AGREEMENT.filter((a) => a.preset === 'tiny'))('webgpu matches cpu ($name)', async (a) => {
    await useBackend('cpu');
    const cpuModel = initModel({ preset: a.preset, arch: a.arch, seed: a.seed });
    const cpu = await driverScores(cpuModel, a);
    cpuModel.dispose();
    await selectBackend('webgpu', { logger: quiet, asyncReads: true });
    expect(tf.getBackend()).toBe('webgpu');
    const model = initModel({ preset: a.preset, arch: a.arch, seed: a.seed });
    try {
      const got = await driverScores(model, a);
      const r = compareWithReference({ ...a, parameters: 0, ...cpu, selfCheck: {} }, got, 'cpu', TOLERANCE);
      measured.push(`${a.name} webgpu vs cpu: ${JSON.stringify(r.maxRelErr)}`);
      expect(r.pass).toBe(true);
      // The product scorer itself (what prism score / prism run compute with --backend webgpu).
      const product = await productDriverScores(model, a, quiet);
      const p = compareWithReference(
        { ...a, parameters: 0, ...cpu, selfCheck: {} },
        product,
        'cpu',
        TOLERANCE,
      );
      measured.push(`${a.name} PrismScorer on webgpu vs cpu: ${JSON.stringify(p.maxRelErr)}`);
      expect(p.pass).toBe(true);
    } finally {
      model.dispose();
    }
  });
});

describe('a model moved between backends', () => {
  it('scores as a model created there and keeps numTensors constant', async () => {
    // Created on wasm, then cpu (scored once: it is the slow one), tensorflow if present, and back.
    const kinds: BackendKind[] = native.available
      ? ['wasm', 'cpu', 'tensorflow', 'wasm']
      : ['wasm', 'cpu', 'wasm'];
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const model = initModel({ preset: 'tiny', arch: 'llama', seed: 7 });
    const withModel = tf.memory().numTensors;
    try {
      for (const kind of kinds) {
        await useBackend(kind);
        const moved = await scoreBothPaths(model);
        expect(tf.memory().numTensors, `tensors after scoring on ${kind}`).toBe(withModel);
        // Every variable's data now lives on `kind` (moved on first use, freed on the old backend).
        const homes = new Set(
          [...model.namedWeights().values()].map((v) => tf.engine().state.tensorInfo.get(v.dataId)?.backend),
        );
        expect([...homes]).toEqual([tf.backend()]);
        expectAgreement(`moved to ${kind}`, moved, await scoresOn(kind, 'llama'));
      }
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
