/**
 * `prism run` with `probe.mode: follow` on the real broker, through the real pipeline
 * (startPipeline in-process, tfjs cpu, tiny model): a ModelUpdate for a new checkpoint is swapped in
 * between micro-batches, and a corrupted one (sha256 mismatch) is refused while the old version
 * keeps serving. Inputs go in groups of batch.size, each produced only after the previous group
 * was committed, so every group is one micro-batch; scored_at (one per scorer call) confirms it.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';
import type { ModelUpdate } from '../../src/schemas/types.ts';
import type { CheckpointRef } from '../../src/trainer/checkpoint/store.ts';
import { startPipeline } from '../../streams/app.ts';
import { testBrokers, uniqueName } from './helpers/kafka.ts';
import { metricValue, removeTempDirs, tempDir, waitFor } from './run-fixtures.ts';

import {
  FOLLOW_BATCH,
  capturingLogger,
  followRun as followRunWith,
  publish,
  swapCount,
  tinyModelFolder,
  updateOf as updateOfFor,
  writeCheckpoint as writeCheckpointFor,
} from './follow-fixtures.ts';

afterAll(() => removeTempDirs());

const FOLLOW_ID = 'follow-tiny';
const BATCH = FOLLOW_BATCH;

const writeCheckpoint = (root: string, step: number) =>
  writeCheckpointFor(root, step, FOLLOW_ID, 'run-follow-test');
const updateOf = (ref: CheckpointRef, overrides: Partial<ModelUpdate> = {}) =>
  updateOfFor(ref, FOLLOW_ID, overrides);

/** A follow-mode run of this test's scorer (follow-fixtures.ts). */
const followRun = (prefix: string) =>
  followRunWith(prefix, FOLLOW_ID, {
    'scorer.kind': 'prism',
    'scorer.backend': 'cpu',
    'scorer.path': 'batched',
  });

describe('prism run in probe follow mode', () => {
  it('swaps a new checkpoint in from the next micro-batch on, never mid-batch, and refuses a corrupted one', async () => {
    const run = await followRun('follow');
    const good = await writeCheckpoint(join(run.dir, 'ckpt'), 5);
    const { log, lines } = capturingLogger();
    const handle = await startPipeline(run.config, { log });
    try {
      await run.batch('b0');
      await run.batch('b1');

      await publish(run.updates, updateOf(good));
      await waitFor(
        'the new checkpoint verified and loaded',
        async () => (await swapCount(handle, 'loaded')) === 1,
        60_000,
        100,
      );
      await run.batch('b2');
      await run.batch('b3');

      // A corrupted copy announced as a newer version, with the sha256 it was published with.
      const bad = join(run.dir, 'corrupted');
      cpSync(good.path, bad, { recursive: true });
      const weights = join(bad, 'model.safetensors');
      const bytes = readFileSync(weights);
      bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(weights, bytes);
      await publish(
        run.updates,
        updateOf(good, { version: 'forged-999', step: 999, uri: pathToFileURL(bad).href }),
      );
      await waitFor(
        'the corrupted update refused',
        async () => (await swapCount(handle, 'rejected')) === 1,
        60_000,
        100,
      );
      await run.batch('b4');

      const metrics = await handle.metrics.registry.metrics();
      expect(metricValue(metrics, 'prism_probe_swaps_total', { result: 'applied' })).toBe(1);
      expect(metricValue(metrics, 'prism_scorer_info', { probe_version: good.manifest.version })).toBe(1);
    } finally {
      await run.close();
      await handle.stop('test done');
    }
    await handle.done;

    const byKey = await run.outputs();
    const group$ = (name: string) => Array.from({ length: BATCH }, (_, i) => byKey.get(`${name}-${i}`));
    const versionsOf = (name: string) => [...new Set(group$(name).map((p) => p?.probe_model_version))];
    const baseVersion = group$('b0')[0]?.probe_model_version ?? '';
    expect(baseVersion).toMatch(/^sha-[0-9a-f]{12}$/);
    // Before the update: the base model; from the first micro-batch after it loaded: the new version,
    // also after the corrupted update was refused.
    expect(['b0', 'b1', 'b2', 'b3', 'b4'].map(versionsOf)).toEqual([
      [baseVersion],
      [baseVersion],
      [good.manifest.version],
      [good.manifest.version],
      [good.manifest.version],
    ]);
    expect(group$('b2').every((p) => p?.probe_model_id === FOLLOW_ID)).toBe(true);

    // Micro-batches as the pipeline saw them (one scored_at per scorer call): none mixes versions,
    // and the sequence switches once, from base to new.
    const batches = new Map<number, Set<string>>();
    for (const p of byKey.values()) {
      const set = batches.get(p.scored_at) ?? new Set<string>();
      set.add(p.probe_model_version);
      batches.set(p.scored_at, set);
    }
    expect([...batches.values()].every((s) => s.size === 1)).toBe(true);
    const sequence = [...batches.entries()].sort(([x], [y]) => x - y).map(([, s]) => [...s][0]);
    expect(sequence.indexOf(good.manifest.version)).toBe(sequence.lastIndexOf(baseVersion) + 1);

    // The same contents score differently on the new weights (the swap is real, not a relabel).
    const gini = (name: string) => group$(name).map((p) => p?.gini ?? Number.NaN);
    expect(gini('b1')).toEqual(gini('b0'));
    expect(gini('b2')).not.toEqual(gini('b0'));

    // The refusal is logged with its reason code, and nothing of the forged version was ever served.
    const refused = lines.find((l) => l.msg === 'model update refused; the current version keeps serving');
    expect(refused).toMatchObject({ code: 'CHECKPOINT_SHA_MISMATCH', version: 'forged-999' });
    expect(String(refused?.err)).toMatch(/refusing to load it/);
    expect([...byKey.values()].some((p) => p.probe_model_version === 'forged-999')).toBe(false);
  });

  it('starts on the newest version already published, from the first micro-batch', async () => {
    const run = await followRun('follow-start');
    const good = await writeCheckpoint(join(run.dir, 'ckpt'), 3);
    await publish(run.updates, updateOf(good));
    const handle = await startPipeline(run.config, { log: capturingLogger().log });
    try {
      const metrics = await handle.metrics.registry.metrics();
      expect(metricValue(metrics, 'prism_scorer_info', { probe_version: good.manifest.version })).toBe(1);
      await run.batch('s0');
    } finally {
      await run.close();
      await handle.stop('test done');
    }
    await handle.done;
    const versions = [...(await run.outputs()).values()].map((p) => p.probe_model_version);
    expect(versions).toEqual(Array(BATCH).fill(good.manifest.version));
  });

  it('refuses to start when topics.modelUpdates does not exist, naming the key', async () => {
    const baseDir = await tinyModelFolder(join(tempDir('prism-run-follow-missing-'), 'base'), 7);
    const missing = uniqueName('no-such-updates');
    const config = loadConfig({
      env: {},
      overrides: Object.entries({
        'kafka.brokers': testBrokers().join(','),
        'scorer.kind': 'prism',
        'scorer.modelDir': baseDir,
        'probe.mode': 'follow',
        'probe.followModelId': FOLLOW_ID,
        'topics.modelUpdates': missing,
        'http.enabled': 'false',
      }).map(([path, value]) => ({ path, value, source: 'test' })),
    });
    const err = await startPipeline(config, { log: capturingLogger().log }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(
      new RegExp(`topics\\.modelUpdates: topic "${missing}" does not exist`),
    );
  });
});
