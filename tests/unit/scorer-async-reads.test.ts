/**
 * The tfjs scorer reads device tensors only asynchronously (`await t.data()`), which is what lets
 * `prism score` / `prism run` use the webgpu backend (no synchronous read in Node).
 *
 * 1. With every synchronous read (Tensor.dataSync / arraySync / bufferSync) made to throw, as on
 *    webgpu, PrismScorer still scores on every path and norm route, and gives the same numbers as
 *    with synchronous reads allowed.
 * 2. openPrismScorer asks the backend selector for webgpu as an asynchronous reader: the choice is no
 *    longer refused up front, it goes on to look for an adapter (a fake Dawn without one here).
 */
import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError, type BackendEnv } from '../../src/backend/index.ts';
import { initModel, type LlamaModel } from '../../src/model/index.ts';
import { openPrismScorer } from '../../src/scorer-host/open.ts';
import { PrismScorer, type ScoreOutcome } from '../../src/scorer/index.ts';
import type { SplitMode } from '../../src/scorer/norms.ts';
import type { ScorerPath } from '../../src/scorer/path.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';
import { sampleTrajectories } from './scorer-fixtures.ts';

const quiet = pino({ level: 'silent' });

type SyncRead = 'dataSync' | 'arraySync' | 'bufferSync';
const SYNC_READS: readonly SyncRead[] = ['dataSync', 'arraySync', 'bufferSync'];

/** Runs `f` with every synchronous tensor read throwing; returns what `f` returned and the reads attempted. */
async function withoutSyncReads<T>(f: () => Promise<T>): Promise<{ value: T; attempted: string[] }> {
  const proto = tf.Tensor.prototype as unknown as Record<SyncRead, unknown>;
  const saved = SYNC_READS.map((k) => proto[k]);
  const attempted: string[] = [];
  for (const k of SYNC_READS) {
    proto[k] = function refused(): never {
      attempted.push(k);
      throw new Error(`synchronous read ${k}() (webgpu in Node has none)`);
    };
  }
  try {
    return { value: await f(), attempted };
  } finally {
    SYNC_READS.forEach((k, i) => {
      proto[k] = saved[i];
    });
  }
}

function scorer(model: LlamaModel, path: ScorerPath, split: SplitMode, headChunkBytes?: number): PrismScorer {
  return new PrismScorer({
    model,
    tokenizer: new ByteTokenizer(),
    probeModelId: 'async',
    probeModelVersion: 'v0',
    backend: tf.getBackend(),
    maxSeqLen: 128,
    batchSize: 3,
    emitNorms: true,
    path,
    split,
    ...(headChunkBytes === undefined ? {} : { headChunkBytes }),
    ownsModel: false,
    logger: quiet,
  });
}

function norms(outcomes: ScoreOutcome[]): number[][] {
  return outcomes.map((o) => {
    if (!o.ok) throw new Error(`not scored: ${o.error.code} ${o.error.message}`);
    return [...(o.scores.norms ?? []), o.scores.loss, o.scores.gini];
  });
}

describe('PrismScorer without synchronous reads', () => {
  let model: LlamaModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = initModel({ preset: 'tiny', arch: 'llama', seed: 3 });
  });
  afterAll(() => model.dispose());

  const cases: Array<[ScorerPath, SplitMode, number | undefined]> = [
    ['batched', 'device', undefined], // layer-wise backward, norms formed on the device
    ['batched', 'host', undefined], // layer-wise backward, per-example products cut on the host
    ['per-trajectory', 'device', undefined],
    ['batched', 'device', 0], // one tape, whole-logits loss (batchedProbeNorms)
    ['per-trajectory', 'host', 0], // weight gradients (perTrajectoryNorms)
  ];
  it.each(cases)(
    '%s / %s split / head chunk %s: scores, same numbers as with sync reads',
    async (p, s, h) => {
      const trajs = sampleTrajectories(4);
      const want = norms(await scorer(model, p, s, h).scoreBatch(trajs));
      const before = tf.memory().numTensors;
      const { value, attempted } = await withoutSyncReads(() => scorer(model, p, s, h).scoreBatch(trajs));
      expect(attempted).toEqual([]);
      expect(norms(value)).toEqual(want); // the same reads, only asynchronous: bit-identical
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('the harness really refuses a synchronous read', async () => {
    const { attempted } = await withoutSyncReads(async () => {
      const t = tf.tensor1d([1, 2]);
      try {
        expect(() => t.dataSync()).toThrow(/synchronous read/);
        expect(Array.from(await t.data())).toEqual([1, 2]);
      } finally {
        t.dispose();
      }
    });
    expect(attempted).toEqual(['dataSync']);
  });

  it('concurrent scoreBatch calls each get their own outcomes (as when called one at a time)', async () => {
    const s = scorer(model, 'batched', 'device');
    const a = sampleTrajectories(3);
    const b = sampleTrajectories(5).slice(2);
    const [ra, rb] = await Promise.all([s.scoreBatch(a), s.scoreBatch(b)]);
    expect(norms(ra)).toEqual(norms(await s.scoreBatch(a)));
    expect(norms(rb)).toEqual(norms(await s.scoreBatch(b)));
  });
});

describe('openPrismScorer and the webgpu backend', () => {
  it('is not refused for synchronous reads any more: it looks for an adapter', async () => {
    const imported: string[] = [];
    const env: BackendEnv = {
      gpuVisible: () => false,
      importModule: async (spec) => {
        imported.push(spec);
        // A Dawn binding that finds no adapter, as on a machine without a GPU.
        if (spec === 'webgpu') return { create: () => ({ requestAdapter: async () => null }), globals: {} };
        throw Object.assign(new Error(`Cannot find package '${spec}'`), { code: 'ERR_MODULE_NOT_FOUND' });
      },
    };
    const err = await openPrismScorer(
      { backend: 'webgpu', modelDir: '/nonexistent' },
      { backendEnv: env, logger: quiet },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(String(err)).not.toMatch(/synchronously/);
    expect(String(err)).toMatch(/no WebGPU adapter/);
    expect(imported).toEqual(['webgpu']);
  });
});
