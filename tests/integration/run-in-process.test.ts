/**
 * `prism run` in-process (startPipeline) where a test needs control: metrics and readiness,
 * the quantile policy's realised share, calibration seeding, at-least-once mode, and a scorer
 * slower than the session timeout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type ConfigOverride } from '../../src/config/load.ts';
import type { PrismConfig } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { startPipeline, type PipelineHandle } from '../../streams/app.ts';
import { testBrokers, uniqueName } from './helpers/kafka.ts';
import {
  audit,
  createOutputs,
  exactlyOnceViolations,
  metricValue,
  removeTempDirs,
  tempDir,
  waitFor,
  waitUntilConsumed,
  writeInput,
  writeText,
  type InputTopic,
  type OutputTopics,
} from './run-fixtures.ts';

afterAll(() => removeTempDirs());

function config(
  input: InputTopic,
  out: OutputTopics,
  extra: Record<string, string | number | boolean> = {},
): PrismConfig {
  const settings: Record<string, string | number | boolean> = {
    'kafka.brokers': testBrokers().join(','),
    'consumer.groupId': uniqueName('inproc-group'),
    'topics.trajectories': input.topic,
    'topics.sft': out.sft,
    'topics.rl': out.rl,
    'topics.dlq': out.dlq,
    'scorer.kind': 'deterministic',
    'arbitration.window': 1024,
    'arbitration.warmup': 200,
    'consumer.highWatermark': 400,
    'consumer.lowWatermark': 200,
    'consumer.sessionTimeoutMs': 10_000,
    'consumer.heartbeatIntervalMs': 1000,
    'consumer.maxWaitTimeMs': 200,
    'batch.maxWaitMs': 100,
    'http.port': 0,
    ...extra,
  };
  const overrides: ConfigOverride[] = Object.entries(settings).map(([path, value]) => ({
    path,
    value: String(value),
    source: 'test',
  }));
  return loadConfig({ env: {}, overrides });
}

async function runToEnd(
  cfg: PrismConfig,
  input: InputTopic,
  check?: (h: PipelineHandle) => Promise<void>,
): Promise<PipelineHandle> {
  const handle = await startPipeline(cfg, { log: createLogger('run-test', 'warn') });
  try {
    await waitUntilConsumed(cfg.consumer.groupId, input.topic);
    await check?.(handle);
  } finally {
    await handle.stop('test done');
  }
  await handle.done;
  return handle;
}

describe('prism run in-process', () => {
  it('quantile q=0.7 routes ~30% to RL, exactly once, and reports it on /metrics with /readyz ready', async () => {
    const input = await writeInput('q-in', 3000, { partitions: 2 });
    const out = await createOutputs('q');
    const cfg = config(input, out, { 'arbitration.policy': 'quantile', 'arbitration.quantile': 0.7 });
    let metrics = '';
    let ready = 0;
    await runToEnd(cfg, input, async (h) => {
      const base = `http://127.0.0.1:${h.http?.port}`;
      ready = (await fetch(`${base}/readyz`)).status;
      metrics = await (await fetch(`${base}/metrics`)).text();
    });
    expect(ready).toBe(200);
    const a = await audit(out);
    expect(exactlyOnceViolations(input, a)).toEqual([]);
    console.info(
      `quantile 0.7: realised RL share ${(100 * a.rlShare).toFixed(2)}% of ${a.sft.length + a.rl.length}`,
    );
    expect(a.rlShare).toBeGreaterThan(0.25);
    expect(a.rlShare).toBeLessThan(0.35);
    // metrics agree with what was written
    expect(metricValue(metrics, 'prism_records_out_total', { route: 'RL' })).toBe(a.rl.length);
    expect(metricValue(metrics, 'prism_records_out_total', { route: 'SFT' })).toBe(a.sft.length);
    expect(
      metricValue(metrics, 'prism_dlq_records_total', { reason: 'DECODE_BAD_MAGIC', stage: 'decode' }),
    ).toBe(1);
    expect(metricValue(metrics, 'prism_rl_share')).toBeCloseTo(a.rlShare, 5);
    expect(
      metricValue(metrics, 'prism_threshold', {
        probe_model: 'deterministic',
        probe_version: '1',
        metric: 'gini',
        policy: 'quantile',
      }),
    ).toBeGreaterThan(0);
    expect(metricValue(metrics, 'prism_batch_size_count')).toBeGreaterThan(0);
    expect(metricValue(metrics, 'prism_scoring_seconds_count')).toBeGreaterThan(0);
    expect(metricValue(metrics, 'prism_end_to_end_seconds_count')).toBe(input.keys.length);
    expect(metricValue(metrics, 'prism_consumer_lag', { topic: input.topic, partition: '0' })).toBe(0);
    expect(metricValue(metrics, 'prism_transactions_total', { result: 'commit' })).toBeGreaterThan(0);
  });

  it('starts routing at once when the window is seeded from a calibration file (no warm-up hold)', async () => {
    const input = await writeInput('cal-in', 150, { partitions: 1, poison: false });
    const out = await createOutputs('cal');
    const dir = tempDir('prism-cal-');
    const scores = Array.from({ length: 1000 }, (_, i) => String(0.2 + (0.6 * i) / 1000)).join('\n');
    const file = writeText(dir, 'calibration.jsonl', scores);
    // warm-up 1000 > 150 records: without the seed nothing could ever be decided
    const cfg = config(input, out, {
      'arbitration.warmup': 1000,
      'arbitration.window': 2048,
      'arbitration.calibrate': file,
    });
    await runToEnd(cfg, input);
    const a = await audit(out);
    expect(exactlyOnceViolations(input, a)).toEqual([]);
  });

  it('at-least-once mode (no transactions) delivers every input', async () => {
    const input = await writeInput('alo-in', 1000, { partitions: 2 });
    const out = await createOutputs('alo');
    const cfg = config(input, out, { 'delivery.mode': 'at-least-once' });
    await runToEnd(cfg, input);
    const a = await audit(out);
    const missing = input.keys.filter((k) => (a.counts.get(k) ?? 0) < 1);
    expect(missing).toEqual([]);
  });

  it('a scorer slower than the session timeout causes no rebalance', async () => {
    const input = await writeInput('slow-in', 120, { partitions: 1, poison: false });
    const out = await createOutputs('slow');
    const cfg = config(input, out, {
      'scorer.deterministic.delayMs': 8000, // > session timeout, per micro-batch
      'consumer.sessionTimeoutMs': 6000,
      'consumer.heartbeatIntervalMs': 500,
      'batch.size': 60,
      'consumer.highWatermark': 60, // pause after one batch: fetching stops, heartbeats must not
      'consumer.lowWatermark': 10,
      'arbitration.warmup': 20,
      'arbitration.window': 256,
    });
    const handle = await runToEnd(cfg, input, async (h) => {
      expect(h.readiness().detail).toMatchObject({ generation: 1 });
    });
    const text = await handle.metrics.registry.metrics();
    expect(metricValue(text, 'prism_rebalances_total')).toBe(0);
    const a = await audit(out);
    expect(exactlyOnceViolations(input, a)).toEqual([]);
  });

  it('is ready once joined with its partitions, and not ready while shutting down', async () => {
    const input = await writeInput('ready-in', 10, { partitions: 1, poison: false });
    const out = await createOutputs('ready');
    const handle = await startPipeline(
      config(input, out, { 'arbitration.warmup': 5, 'arbitration.window': 16 }),
      { log: createLogger('run-test', 'warn') },
    );
    try {
      await waitFor('ready', async () => handle.readiness().ready);
      expect(handle.readiness().detail).toMatchObject({ partitions: [0] });
    } finally {
      await handle.stop();
    }
    expect(handle.readiness()).toMatchObject({
      ready: false,
      reasons: expect.arrayContaining(['shutting down']),
    });
  });
});
