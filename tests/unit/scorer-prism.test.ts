import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, type LlamaModel } from '../../src/model/index.ts';
import { loadModel, saveModel } from '../../src/model-store/llama.ts';
import { ARCHS } from '../../src/model/config.ts';
import { PrismScorer, type ScorableModel, type ScoreOutcome } from '../../src/scorer/index.ts';
import type { ScorerPathSetting } from '../../src/config/scorer.ts';
import type { PrismScores } from '../../src/schemas/types.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';
import { sampleTrajectories, textTrajectory, tokenTrajectory } from './scorer-fixtures.ts';

const quiet = pino({ level: 'silent' });

function scorerFor(
  model: LlamaModel,
  path: ScorerPathSetting,
  extra: Partial<ConstructorParameters<typeof PrismScorer>[0]> = {},
): PrismScorer {
  return new PrismScorer({
    model,
    tokenizer: new ByteTokenizer(),
    probeModelId: 'tiny-test',
    probeModelVersion: 'v0',
    backend: tf.getBackend(),
    maxSeqLen: 256,
    batchSize: 4,
    emitNorms: true,
    path,
    ownsModel: false,
    logger: quiet,
    ...extra,
  });
}

function okScores(o: ScoreOutcome): PrismScores {
  if (!o.ok) throw new Error(`expected a score, got ${o.error.code}: ${o.error.message}`);
  return o.scores;
}

function maxRelErr(a: readonly number[], b: readonly number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]) / Math.max(Math.abs(b[i]), 1e-12)));
}

describe('PrismScorer on the tiny Llama preset', () => {
  let model: LlamaModel;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    model = initModel({ preset: 'tiny', arch: 'llama', seed: 1 });
  });
  afterAll(() => model.dispose());

  it('scores with the batched path equal to the per-trajectory path, and 7L norms per trajectory', async () => {
    const trajs = sampleTrajectories(6);
    const a = await scorerFor(model, 'batched').scoreBatch(trajs);
    const b = await scorerFor(model, 'per-trajectory').scoreBatch(trajs);
    expect(a).toHaveLength(6);
    for (let i = 0; i < 6; i++) {
      const sa = okScores(a[i]);
      const sb = okScores(b[i]);
      expect(sa.norms).toHaveLength(7 * model.config.num_hidden_layers);
      expect(maxRelErr(sa.norms as number[], sb.norms as number[])).toBeLessThan(1e-4);
      expect(sa.gini).toBeCloseTo(sb.gini, 4);
      expect(sa.loss).toBeCloseTo(sb.loss, 5);
      expect(sa.response_tokens).toBe(sb.response_tokens);
      expect(sa.gini).toBeGreaterThan(0);
      expect(sa.l2).toBeGreaterThan(0);
    }
  });

  it('turns bad records into typed outcomes and still scores the rest of the batch', async () => {
    const trajs = [
      textTrajectory('good-1', 'hello', 'world'),
      {
        ...textTrajectory('no-assistant', 'only a question', ''),
        turns: [textTrajectory('x', 'q', '').turns[0]],
      },
      tokenTrajectory('oov', [1, 2, 3], [4, 99999]),
      textTrajectory('good-2', 'pick', 'the apple'),
    ];
    const out = await scorerFor(model, 'batched').scoreBatch(trajs);
    expect(out.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      'ok',
      'NO_TARGET_TOKENS',
      'TOKEN_OUT_OF_VOCAB',
      'ok',
    ]);
  });

  it('cutting micro-batches by a memory budget changes no score', async () => {
    const trajs = sampleTrajectories(6);
    const a = await scorerFor(model, 'batched', { batchSize: 6 }).scoreBatch(trajs);
    const b = await scorerFor(model, 'batched', { batchSize: 6, maxBatchBytes: 4e6 }).scoreBatch(trajs);
    for (let i = 0; i < 6; i++)
      expect(maxRelErr(okScores(b[i]).norms as number[], okScores(a[i]).norms as number[])).toBeLessThan(
        1e-4,
      );
  });

  it('cutting micro-batches by a token budget (scorer.maxBatchTokens) changes no score', async () => {
    const trajs = sampleTrajectories(6);
    const a = await scorerFor(model, 'batched', { batchSize: 6 }).scoreBatch(trajs);
    // 1 token: every forward/backward holds a single trajectory, whatever batchSize says.
    const b = await scorerFor(model, 'batched', { batchSize: 6, maxBatchTokens: 1 }).scoreBatch(trajs);
    for (let i = 0; i < 6; i++)
      expect(maxRelErr(okScores(b[i]).norms as number[], okScores(a[i]).norms as number[])).toBeLessThan(
        1e-4,
      );
  });

  it('permuting the batch permutes the scores', async () => {
    const trajs = sampleTrajectories(5);
    const perm = [4, 2, 0, 3, 1];
    const s = scorerFor(model, 'batched');
    const a = await s.scoreBatch(trajs);
    const b = await s.scoreBatch(perm.map((i) => trajs[i]));
    perm.forEach((src, dst) => {
      expect(okScores(b[dst]).gini).toBeCloseTo(okScores(a[src]).gini, 5);
      expect(maxRelErr(okScores(b[dst]).norms as number[], okScores(a[src]).norms as number[])).toBeLessThan(
        1e-4,
      );
    });
  });

  it('omits norms unless emitNorms is set and marks truncated trajectories', async () => {
    const long = textTrajectory('long', 'u', 'a'.repeat(100));
    const out = await scorerFor(model, 'batched', { emitNorms: false, maxSeqLen: 40 }).scoreBatch([
      long,
      textTrajectory('short', 'u', 'ab'),
    ]);
    expect(okScores(out[0])).toMatchObject({ norms: null, truncated: true });
    expect(okScores(out[0]).response_tokens).toBeLessThan(40);
    expect(okScores(out[1])).toMatchObject({ norms: null, truncated: false });
  });

  it('auto measures both paths on the first multi-trajectory batch and keeps one', async () => {
    const s = scorerFor(model, 'auto');
    expect(s.path).toBeUndefined();
    const out = await s.scoreBatch(sampleTrajectories(4));
    expect(out.every((o) => o.ok)).toBe(true);
    expect(['batched', 'per-trajectory']).toContain(s.path);
    expect(s.calibration?.maxRelDiff).toBeLessThan(1e-4);
  });

  it('keeps tf.memory().numTensors constant across many batches on every path', async () => {
    const trajs = sampleTrajectories(5);
    for (const path of ['batched', 'per-trajectory', 'auto'] as const) {
      const s = scorerFor(model, path);
      await s.scoreBatch(trajs);
      const before = tf.memory().numTensors;
      for (let k = 0; k < 4; k++) await s.scoreBatch(trajs.slice(k));
      await s.scoreBatch([tokenTrajectory('oov', [1], [1e6])]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('falls back to one-by-one scoring when a batched pass fails for a non-fatal reason', async () => {
    const flaky: ScorableModel = Object.create(model) as ScorableModel;
    flaky.forward = (ids, opts) => {
      if (ids.shape[0] > 1) throw new Error('batched forward unsupported here');
      return model.forward(ids, opts);
    };
    const out = await scorerFor(flaky as LlamaModel, 'batched').scoreBatch(sampleTrajectories(3));
    expect(out.every((o) => o.ok)).toBe(true);
  });

  it('stops with BACKEND_FAILED on a wasm abort, now and on every later call', async () => {
    const dead: ScorableModel = Object.create(model) as ScorableModel;
    const abort = (): never => {
      throw new WebAssembly.RuntimeError('memory access out of bounds');
    };
    dead.forward = abort;
    dead.forwardHidden = abort;
    dead.openStages = abort;
    const s = scorerFor(dead as LlamaModel, 'auto');
    await expect(s.scoreBatch(sampleTrajectories(3))).rejects.toMatchObject({ code: 'BACKEND_FAILED' });
    await expect(s.scoreBatch(sampleTrajectories(1))).rejects.toMatchObject({ code: 'BACKEND_FAILED' });
  });

  it('a checkpoint saved and reloaded gives identical scores', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prism-scorer-'));
    try {
      await saveModel(model, dir);
      const reloaded = await loadModel(dir);
      const trajs = sampleTrajectories(3);
      const a = await scorerFor(model, 'batched').scoreBatch(trajs);
      const b = await scorerFor(reloaded, 'batched').scoreBatch(trajs);
      reloaded.dispose();
      for (let i = 0; i < 3; i++) expect(okScores(b[i])).toEqual(okScores(a[i]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.each(ARCHS.filter((a) => a !== 'llama'))(
  'batched equals per-trajectory for the %s variant',
  (arch) => {
    it('on the wasm backend', async () => {
      await tf.setBackend('wasm');
      const model = initModel({ preset: 'tiny', arch, seed: 2 });
      try {
        const trajs = sampleTrajectories(2);
        const a = await scorerFor(model, 'batched').scoreBatch(trajs);
        const b = await scorerFor(model, 'per-trajectory').scoreBatch(trajs);
        for (let i = 0; i < 2; i++)
          expect(maxRelErr(okScores(a[i]).norms as number[], okScores(b[i]).norms as number[])).toBeLessThan(
            1e-4,
          );
      } finally {
        model.dispose();
      }
    });
  },
);
