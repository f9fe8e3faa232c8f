/**
 * probe.mode follow with the scorer in a worker thread (src/scorer-host/worker/): checkpoints are
 * loaded inside the worker, adopted between micro-batches, served again by a restarted worker, and
 * one of another architecture is refused while the old model keeps serving.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, type Arch } from '../../src/model/index.ts';
import { saveModel } from '../../src/model-store/llama.ts';
import { openPrismScorer } from '../../src/scorer-host/open.ts';
import { WorkerFollowingScorer } from '../../src/scorer-host/worker/following.ts';
import { WorkerScorer, type WorkerModel } from '../../src/scorer-host/worker/worker-scorer.ts';
import type { ScoreOutcome } from '../../src/scorer/types.ts';
import { weightsSha256 } from '../../src/trainer/checkpoint/sha.ts';
import { ModelFollower, type FollowEvent } from '../../src/trainer/model-updates/follower.ts';
import { sampleTrajectories, textTrajectory } from './scorer-fixtures.ts';

const quiet = pino({ level: 'silent' });
const config = { backend: 'cpu' as const, path: 'batched' as const, emitNorms: true, maxSeqLen: 128 };
const trajs = sampleTrajectories(3);
// Several worker starts and in-process references on a loaded 2-core machine: a bound for hangs only.

async function folder(dir: string, seed: number, arch: Arch = 'llama'): Promise<string> {
  const m = initModel({ preset: 'tiny', arch, seed });
  await saveModel(m, dir);
  m.dispose();
  return dir;
}

function norms(outcomes: ScoreOutcome[]): number[][] {
  return outcomes.map((o) => {
    if (!o.ok) throw new Error(`expected a score, got ${o.error.code}: ${o.error.message}`);
    return o.scores.norms ?? [];
  });
}

function expectClose(a: number[][], b: number[][]): void {
  expect(a.map((r) => r.length)).toEqual(b.map((r) => r.length));
  a.forEach((row, i) =>
    row.forEach((v, j) => expect(Math.abs(v - b[i][j])).toBeLessThanOrEqual(1e-6 * Math.max(1, b[i][j]))),
  );
}

/** The same trajectories scored in this process on `dir` (the reference for what the worker serves). */
async function inProcess(dir: string): Promise<number[][]> {
  const { scorer } = await openPrismScorer({ ...config, modelDir: dir }, { logger: quiet });
  try {
    return norms(await scorer.scoreBatch(trajs));
  } finally {
    scorer.dispose();
  }
}

describe('scorer worker in probe follow mode', () => {
  let root: string;
  let base: string;
  let next: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'prism-worker-follow-'));
    base = await folder(join(root, 'base'), 3);
    next = await folder(join(root, 'next'), 4);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('adopts a checkpoint loaded in the worker from the next batch on; a restarted worker serves it again; another architecture is refused', async () => {
    const scorer = await WorkerScorer.open(
      { config: { ...config, modelDir: base }, crashOnId: 'boom' },
      { logger: quiet },
    );
    try {
      const before = norms(await scorer.scoreBatch(trajs));
      expect(scorer.path).toBe('batched');
      expectClose(before, await inProcess(base));

      await expect(scorer.preload(await folder(join(root, 'qwen3'), 5, 'qwen3'))).rejects.toMatchObject({
        code: 'CHECKPOINT_LOAD_FAILED',
        message: expect.stringMatching(/differs from the serving probe/),
      });

      const baseVersion = scorer.probeModelVersion;
      expect(baseVersion).toMatch(/^sha-[0-9a-f]{12}$/);
      const loaded = await scorer.preload(next);
      // Loaded next to the serving model, not serving yet.
      expect(scorer.probeModelVersion).toBe(baseVersion);
      expectClose(norms(await scorer.scoreBatch(trajs)), before);
      scorer.adopt(loaded, { probeModelId: 'follow-tiny', probeModelVersion: 'v1' });
      // The identity changes at once: the caller labels the next batch right after adopting.
      expect([scorer.probeModelId, scorer.probeModelVersion]).toEqual(['follow-tiny', 'v1']);
      const reference = await inProcess(next);
      const after = norms(await scorer.scoreBatch(trajs));
      expectClose(after, reference);
      expect(after[0]).not.toEqual(before[0]);

      await expect(scorer.scoreBatch([textTrajectory('boom', 'a', 'b')])).rejects.toMatchObject({
        code: 'WORKER_CRASHED',
      });
      const restarted = norms(await scorer.scoreBatch(trajs));
      expect(scorer.restarts).toBe(1);
      expect([scorer.probeModelId, scorer.probeModelVersion]).toEqual(['follow-tiny', 'v1']);
      expectClose(restarted, reference);
    } finally {
      scorer.dispose();
    }
  }, 300_000);

  it('a checkpoint the worker cannot serve fails every later batch with WORKER_ADOPT_FAILED (never mislabelled)', async () => {
    const scorer = await WorkerScorer.open(
      { config, preset: { preset: 'tiny', arch: 'llama', seed: 3 } },
      { logger: quiet },
    );
    try {
      expect((await scorer.scoreBatch(trajs)).every((o) => o.ok)).toBe(true);
      // Held by no live worker, and its folder is gone: the worker has to load it again and cannot.
      const gone = { dir: join(root, 'removed'), thread: {}, handle: 1 } as unknown as WorkerModel;
      scorer.adopt(gone, { probeModelId: 'follow-tiny', probeModelVersion: 'v9' });
      await expect(scorer.scoreBatch(trajs)).rejects.toMatchObject({
        code: 'WORKER_ADOPT_FAILED',
        message: expect.stringMatching(/could not serve checkpoint v9/),
      });
      await expect(scorer.scoreBatch(trajs)).rejects.toMatchObject({ code: 'WORKER_ADOPT_FAILED' });
    } finally {
      scorer.dispose();
    }
  }, 300_000);

  it('WorkerFollowingScorer: a verified ModelUpdate swaps in at swapIfReady, never before', async () => {
    const scorer = await WorkerScorer.open({ config: { ...config, modelDir: base } }, { logger: quiet });
    const events: FollowEvent['kind'][] = [];
    const follower = new ModelFollower<WorkerModel>({
      modelId: 'follow-tiny',
      current: { version: scorer.probeModelVersion, step: -1 },
      load: (dir) => scorer.preload(dir),
      dispose: (m) => scorer.release(m),
      onEvent: (e) => events.push(e.kind),
    });
    const following = new WorkerFollowingScorer({ scorer, follower, log: quiet });
    try {
      const baseVersion = following.probeModelVersion;
      expect(following.swapIfReady()).toBeNull();
      follower.offer({
        model_id: 'follow-tiny',
        version: 'v2',
        step: 2,
        uri: pathToFileURL(next).href,
        sha256: await weightsSha256(next),
        created_at: Date.now(),
        trainer: 'sft',
        metrics: {},
      });
      await follower.idle();
      expect(events).toEqual(['loaded']);
      // Loaded, not serving: the version only changes at the batch boundary.
      expect(following.probeModelVersion).toBe(baseVersion);
      const change = following.swapIfReady();
      expect(change).toMatchObject({
        from: { version: baseVersion },
        to: { modelId: 'follow-tiny', version: 'v2' },
      });
      expect(events).toEqual(['loaded', 'applied']);
      expectClose(norms(await following.scoreBatch(trajs)), await inProcess(next));
      expect(following.liveTensors()).toBeGreaterThan(0);
    } finally {
      await follower.close();
      following.dispose();
    }
  }, 300_000);
});
