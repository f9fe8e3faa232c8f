/**
 * `prism run --scorer torch --probe follow` on the real broker, through the real pipeline
 * (startPipeline in-process, the PyTorch scorer service spawned on CPU, tiny model): a ModelUpdate
 * for a new checkpoint is verified, RELOADed into the service after the micro-batch being scored,
 * and labels every micro-batch from the next one on. Needs python3 with torch and transformers.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import type { ModelUpdate, ScoredTrajectory } from '../../src/schemas/types.ts';
import type { CheckpointRef } from '../../src/trainer/checkpoint/store.ts';
import { startPipeline, type PipelineHandle } from '../../streams/app.ts';
import { createTestTopic, testBrokers, testKafka, uniqueName } from './helpers/kafka.ts';
import {
  audit,
  committedTotal,
  createOutputs,
  metricValue,
  removeTempDirs,
  tempDir,
  trajectory,
  waitFor,
} from './run-fixtures.ts';

import {
  capturingLogger,
  publish,
  tinyModelFolder,
  updateOf as updateOfFor,
  writeCheckpoint as writeCheckpointFor,
} from './follow-fixtures.ts';

afterAll(() => removeTempDirs());

const FOLLOW_ID = 'torch-follow-tiny';
const BATCH = 4;
const registry = openLocalRegistry();

const writeCheckpoint = (root: string, step: number) =>
  writeCheckpointFor(root, step, FOLLOW_ID, 'run-torch-follow-test');
const updateOf = (ref: CheckpointRef, overrides: Partial<ModelUpdate> = {}) =>
  updateOfFor(ref, FOLLOW_ID, overrides);

/**
 * A follow-mode run on fresh topics (1 input partition): `batch(name)` produces one micro-batch
 * of BATCH trajectories (same contents every time, ids `<name>-<i>`) and waits for its commit.
 */
async function followRun(prefix: string) {
  const dir = tempDir(`prism-${prefix}-`);
  const baseDir = await tinyModelFolder(join(dir, 'base'), 7);
  const input = await createTestTopic(uniqueName(`${prefix}-in`), { partitions: 1 });
  const updates = await createTestTopic(uniqueName(`${prefix}-updates`), { partitions: 1 });
  const out = await createOutputs(prefix);
  const group = uniqueName(`${prefix}-group`);
  const settings: Record<string, string | number> = {
    'kafka.brokers': testBrokers().join(','),
    'consumer.groupId': group,
    'topics.trajectories': input,
    'topics.sft': out.sft,
    'topics.rl': out.rl,
    'topics.dlq': out.dlq,
    'topics.modelUpdates': updates,
    'scorer.kind': 'torch',
    'scorer.modelDir': baseDir,
    'scorer.torch.python': PYTHON,
    'scorer.torch.device': 'cpu',
    'scorer.torch.dtype': 'fp32',
    'scorer.torch.threads': 1,
    'scorer.maxSeqLen': 64,
    'probe.mode': 'follow',
    'probe.followModelId': FOLLOW_ID,
    'batch.size': BATCH,
    'batch.maxWaitMs': 2000,
    'arbitration.warmup': BATCH,
    'arbitration.window': 64,
    'consumer.highWatermark': 16,
    'consumer.lowWatermark': 8,
    'consumer.sessionTimeoutMs': 10_000,
    'consumer.heartbeatIntervalMs': 1000,
    'consumer.maxWaitTimeMs': 100,
    'http.enabled': 'false',
  };
  const config = loadConfig({
    env: {},
    overrides: Object.entries(settings).map(([path, value]) => ({
      path,
      value: String(value),
      source: 'test',
    })),
  });
  const codec = new RecordCodec('trajectory', { registry });
  const producer = testKafka(`${prefix}-input`).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let produced = 0;
  const batch = async (name: string): Promise<void> => {
    const messages = await Promise.all(
      Array.from({ length: BATCH }, async (_, i) => ({
        key: `${name}-${i}`,
        value: await codec.encode(trajectory(`${name}-${i}`, i)),
      })),
    );
    await producer.send({ topic: input, acks: -1, messages });
    produced += BATCH;
    await waitFor(
      `${name} committed`,
      async () => (await committedTotal(group, input)) >= BigInt(produced),
      60_000,
      100,
    );
  };
  /** Every output, read_committed, decoded: exactly one per input, none in the DLQ. */
  const outputs = async (): Promise<Map<string, ScoredTrajectory['prism']>> => {
    const a = await audit(out);
    expect(a.dlq).toEqual([]);
    expect([...a.counts.values()].every((n) => n === 1)).toBe(true);
    const scoredCodec = new RecordCodec('scored-trajectory', { registry });
    const byKey = new Map<string, ScoredTrajectory['prism']>();
    for (const r of [...a.sft, ...a.rl]) byKey.set(r.key ?? '', (await scoredCodec.decode(r.value)).prism);
    expect(byKey.size).toBe(produced);
    return byKey;
  };
  return { dir, config, updates, batch, outputs, close: () => producer.disconnect() };
}

const swapCount = async (handle: PipelineHandle, result: string): Promise<number> =>
  metricValue(await handle.metrics.registry.metrics(), 'prism_probe_swaps_total', { result }) ?? 0;

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
