import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelUpdate } from '../../src/schemas/types.ts';
import { CheckpointStore } from '../../src/trainer/checkpoint/store.ts';
import { ModelFollower, type FollowEvent } from '../../src/trainer/model-updates/follower.ts';
import { FollowingScorer } from '../../src/trainer/model-updates/following-scorer.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function checkpoint(store: CheckpointStore, step: number): Promise<ModelUpdate> {
  const ref = await store.write({
    step,
    trainer: 'sft',
    consumerGroup: 'g',
    parent: null,
    offsets: [],
    state: {},
    metrics: {},
    optimizerStep: step,
    writeWeights: (dir) => writeFile(join(dir, 'model.safetensors'), `weights-${step}`),
    writeOptimizer: async (dir) => {
      await writeFile(join(dir, 'optimizer.safetensors'), 'o');
      return 'optimizer.safetensors';
    },
  });
  return {
    model_id: 'm',
    version: ref.manifest.version,
    step,
    uri: `file://${ref.path}`,
    sha256: ref.manifest.sha256,
    created_at: 0,
    trainer: 'sft',
    metrics: {},
  };
}

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'follow-'));
  dirs.push(root);
  const store = new CheckpointStore(root, 'm');
  const events: FollowEvent[] = [];
  const disposed: string[] = [];
  const follower = new ModelFollower<string>({
    modelId: 'm',
    current: { version: 'base', step: -1 },
    load: async (dir) => `model@${dir}`,
    dispose: (m) => disposed.push(m),
    onEvent: (e) => events.push(e),
  });
  return { store, follower, events, disposed };
}

describe('ModelFollower', () => {
  it('swaps only when asked (between micro-batches), to the verified new version', async () => {
    const { store, follower } = setup();
    const u = await checkpoint(store, 10);
    follower.offer(u);
    await follower.idle();
    expect(follower.current.version).toBe('base');
    const swap = follower.takeSwap();
    expect(swap?.update.version).toBe(u.version);
    expect(swap?.model).toBe(`model@${join(store.dir, 'step-000000010')}`);
    expect(follower.current).toEqual({ version: u.version, step: 10 });
    expect(follower.takeSwap()).toBeNull();
  });

  it('refuses a checkpoint whose sha256 does not match, with a clear error, and keeps the old version', async () => {
    const { store, follower, events } = setup();
    const u = await checkpoint(store, 10);
    appendFileSync(join(store.dir, 'step-000000010', 'model.safetensors'), 'corruption');
    follower.offer(u);
    await follower.idle();
    expect(follower.takeSwap()).toBeNull();
    expect(follower.current.version).toBe('base');
    const rejected = events.find((e) => e.kind === 'rejected');
    expect(rejected?.kind === 'rejected' && rejected.error.code).toBe('CHECKPOINT_SHA_MISMATCH');
    expect(follower.error?.message).toMatch(
      /sha256 over weight files is [0-9a-f]{64}, expected [0-9a-f]{64}; refusing to load it/,
    );
  });

  it('ignores other model ids, repeats and older steps, and keeps only the newest ready model', async () => {
    const { store, follower, events, disposed } = setup();
    const u10 = await checkpoint(store, 10);
    const u20 = await checkpoint(store, 20);
    follower.offer({ ...u10, model_id: 'other' });
    follower.offer(u10);
    follower.offer(u20);
    await follower.idle();
    follower.offer(u10);
    const swap = follower.takeSwap();
    expect(swap?.update.step).toBe(20);
    expect(disposed.length).toBe(1); // u10 was loaded, then superseded before any swap
    expect(events.filter((e) => e.kind === 'ignored').length).toBe(1);
  });
});

describe('FollowingScorer', () => {
  it('changes version only in swapIfReady, disposing the old scorer', async () => {
    const { store, follower } = setup();
    const disposed: string[] = [];
    const fake = (version: string) => ({
      probeModelId: 'm',
      probeModelVersion: version,
      backend: 'none',
      scoreBatch: async () => [],
      dispose: () => disposed.push(version),
    });
    const scorer = new FollowingScorer<string>({
      follower,
      initial: fake('base'),
      makeScorer: (_m, u) => fake(u.version),
    });
    const u = await checkpoint(store, 3);
    follower.offer(u);
    await follower.idle();
    expect(scorer.probeModelVersion).toBe('base');
    const change = scorer.swapIfReady();
    expect(change?.from.version).toBe('base');
    expect(change?.to.version).toBe(u.version);
    expect(scorer.probeModelVersion).toBe(u.version);
    expect(disposed).toEqual(['base']);
    expect(scorer.swapIfReady()).toBeNull();
  });
});
