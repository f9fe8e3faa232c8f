/**
 * `prism run --scorer torch --probe follow` on the real broker, through the real pipeline
 * (startPipeline in-process, the PyTorch scorer service spawned on CPU, tiny model): a ModelUpdate
 * for a new checkpoint is verified, RELOADed into the service after the micro-batch being scored,
 * and labels every micro-batch from the next one on. Needs python3 with torch and transformers.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelUpdate } from '../../src/schemas/types.ts';
import type { CheckpointRef } from '../../src/trainer/checkpoint/store.ts';
import { startPipeline } from '../../streams/app.ts';
import { metricValue, removeTempDirs, waitFor } from './run-fixtures.ts';

import {
  FOLLOW_BATCH,
  capturingLogger,
  followRun as followRunWith,
  publish,
  swapCount,
  updateOf as updateOfFor,
  writeCheckpoint as writeCheckpointFor,
} from './follow-fixtures.ts';

afterAll(() => removeTempDirs());

const FOLLOW_ID = 'torch-follow-tiny';
const BATCH = FOLLOW_BATCH;

const writeCheckpoint = (root: string, step: number) =>
  writeCheckpointFor(root, step, FOLLOW_ID, 'run-torch-follow-test');
const updateOf = (ref: CheckpointRef, overrides: Partial<ModelUpdate> = {}) =>
  updateOfFor(ref, FOLLOW_ID, overrides);

/** A follow-mode run of this test's scorer (follow-fixtures.ts). */
const followRun = (prefix: string) =>
  followRunWith(prefix, FOLLOW_ID, {
    'scorer.kind': 'torch',
    'scorer.torch.python': PYTHON,
    'scorer.torch.device': 'cpu',
    'scorer.torch.dtype': 'fp32',
    'scorer.torch.threads': 1,
  });

const PYTHON = process.env.PRISM_TEST_PYTHON ?? 'python3';

function requirePython(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, transformers, safetensors'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `${PYTHON} cannot import torch/transformers/safetensors, which scorer.kind torch needs: ` +
        `python3 -m pip install './clients/python[hf]'`,
      { cause: err },
    );
  }
}

describe('prism run --scorer torch in probe follow mode', () => {
  it('reloads a published checkpoint into the service between micro-batches and labels outputs with it', async () => {
    requirePython();
    const run = await followRun('torch-follow');
    const good = await writeCheckpoint(join(run.dir, 'ckpt'), 5);
    const { log } = capturingLogger();
    const handle = await startPipeline(run.config, { log });
    try {
      await run.batch('b0');
      await publish(run.updates, updateOf(good));
      await waitFor(
        'the new checkpoint verified',
        async () => (await swapCount(handle, 'loaded')) === 1,
        60_000,
        100,
      );
      await run.batch('b1'); // scored on the base model; the service reloads the checkpoint after it
      await run.batch('b2');
      const metrics = await handle.metrics.registry.metrics();
      expect(metricValue(metrics, 'prism_probe_swaps_total', { result: 'applied' })).toBe(1);
      expect(metricValue(metrics, 'prism_probe_swaps_total', { result: 'rejected' })).toBe(0);
    } finally {
      await run.close();
      await handle.stop('test done');
    }
    await handle.done;

    const byKey = await run.outputs();
    const versionsOf = (name: string) => [
      ...new Set(Array.from({ length: BATCH }, (_, i) => byKey.get(`${name}-${i}`)?.probe_model_version)),
    ];
    const baseVersion = versionsOf('b0')[0] ?? '';
    expect(baseVersion).not.toBe(good.manifest.version);
    expect(['b0', 'b1', 'b2'].map(versionsOf)).toEqual([
      [baseVersion],
      [baseVersion],
      [good.manifest.version],
    ]);
  });
});
