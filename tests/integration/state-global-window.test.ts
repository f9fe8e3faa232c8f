/**
 * arbitration.state kafka vs local with two `prism run` instances on skewed partitions: partition
 * p of the input holds the p-th third of the score range (the deterministic scorer hashes the id,
 * and ids are placed by their score), so one instance sees low and middle scores, the other high
 * ones. The input arrives in balanced rounds while both run (paced by committed progress, not by
 * time). With the global window both split on one threshold and route each record as the whole
 * stream's median would; with per-instance windows each splits its own partitions: the same score
 * goes to RL on one instance and to SFT on the other.
 */
import type { Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { deterministicScores } from '../../src/scorer/deterministic.ts';
import { createTestTopic, testKafka, uniqueName } from './helpers/kafka.ts';
import {
  audit,
  committedTotal,
  createOutputs,
  diagnostics,
  exactlyOnceViolations,
  removeTempDirs,
  runArgs,
  startCli,
  tempDir,
  trajectory,
  waitFor,
  waitUntilConsumed,
  writeText,
  type InputTopic,
} from './run-fixtures.ts';

const PER_PARTITION = 1000;
const PER_ROUND = 10; // records per partition per round
const SLACK = 3 * 3 * PER_ROUND; // produce ahead of the committed position by at most 3 rounds

interface Skewed {
  readonly input: InputTopic;
  /** id → partition, and the gini each record gets. */
  readonly partitionOf: Map<string, number>;
  readonly gini: Map<string, number>;
  readonly median: number;
}

/** 3,000 ids sorted by their deterministic gini; the p-th third goes to partition p. */
function skewedIds(prefix: string): Omit<Skewed, 'input'> & { byPartition: string[][] } {
  const all = Array.from({ length: 3 * PER_PARTITION }, (_, i) => {
    const id = `${prefix}-${i}`;
    return { id, i, gini: deterministicScores(trajectory(id, i)).gini };
  }).sort((a, b) => a.gini - b.gini);
  // Within a partition, records keep their generation order (scores i.i.d. over time, no drift).
  const byPartition = [0, 1, 2].map((p) =>
    all
      .slice(p * PER_PARTITION, (p + 1) * PER_PARTITION)
      .sort((a, b) => a.i - b.i)
      .map((r) => r.id),
  );
  const partitionOf = new Map(byPartition.flatMap((ids, p) => ids.map((id) => [id, p] as const)));
  const gini = new Map(all.map((r) => [r.id, r.gini]));
  const median = (all[all.length / 2 - 1].gini + all[all.length / 2].gini) / 2;
  return { byPartition, partitionOf, gini, median };
}

const joinedWith = (stderr: string): number[][] =>
  stderr
    .split('\n')
    .filter((l) => l.includes('"msg":"joined group"'))
    .map((l) => (JSON.parse(l) as { partitions: number[] }).partitions);

interface Outcome {
  readonly state: string;
  readonly rlShare: number;
  /** Share of records routed against the split at the median of all 3,000 scores. */
  readonly misrouted: number;
  readonly rlShareByPartition: number[];
}

async function runVariant(state: 'kafka' | 'local'): Promise<Outcome> {
  const prefix = uniqueName(`skew-${state}`);
  const ids = skewedIds(prefix);
  const topic = await createTestTopic(uniqueName(`skew-${state}-in`), { partitions: 3 });
  const input: InputTopic = { topic, keys: ids.byPartition.flat(), poisonKeys: [] };
  const out = await createOutputs(`skew-${state}`);
  const group = uniqueName(`skew-${state}-group`);
  // Both variants start from the same uniform calibration: warm at once, same first threshold.
  const calibration = Array.from({ length: 512 }, (_, i) => String(0.2 + (0.6 * (i + 0.5)) / 512));
  const file = writeText(tempDir('prism-skew-'), 'calibration.jsonl', calibration.join('\n'));
  const args = runArgs(input, out, group, {
    'arbitration.state': state,
    'topics.scores': uniqueName(`skew-${state}-scores`),
    'arbitration.window': 512,
    'arbitration.warmup': 100,
    'arbitration.calibrate': file,
    'batch.size': 16,
    'batch.maxWaitMs': 50,
    'consumer.sessionTimeoutMs': 10_000,
  });
  const a = startCli(args);
  const b = startCli(args);
  const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
  const producer = testKafka('prism-test-skew').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await waitFor('both instances to own partitions', async () => {
      const ja = joinedWith(a.stderr()).at(-1) ?? [];
      const jb = joinedWith(b.stderr()).at(-1) ?? [];
      return ja.length > 0 && jb.length > 0 && ja.length + jb.length === 3;
    });
    let produced = 0n;
    for (let from = 0; from < PER_PARTITION; from += PER_ROUND) {
      const messages: (Message & { partition: number })[] = [];
      for (let p = 0; p < 3; p += 1) {
        for (const id of ids.byPartition[p].slice(from, from + PER_ROUND)) {
          const i = Number(id.slice(id.lastIndexOf('-') + 1));
          messages.push({ key: id, value: await codec.encode(trajectory(id, i)), partition: p });
        }
      }
      await producer.send({ topic, acks: -1, messages });
      produced += BigInt(messages.length);
      const target = produced - BigInt(SLACK);
      await waitFor(
        `${target} records committed`,
        async () => (await committedTotal(group, topic)) >= target,
      );
    }
    await waitUntilConsumed(group, topic);
  } finally {
    await producer.disconnect();
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
  }
  expect((await a.exited).code, diagnostics({ a, b })).toBe(0);
  expect((await b.exited).code, diagnostics({ a, b })).toBe(0);

  const result = await audit(out);
  expect(exactlyOnceViolations(input, result), diagnostics({ a, b })).toEqual([]);
  const rlKeys = new Set(result.rl.map((r) => r.key ?? ''));
  let misrouted = 0;
  const rlByPartition = [0, 0, 0];
  for (const id of input.keys) {
    const rl = rlKeys.has(id);
    if (rl !== (ids.gini.get(id) ?? 0) > ids.median) misrouted += 1;
    if (rl) rlByPartition[ids.partitionOf.get(id) ?? 0] += 1;
  }
  return {
    state,
    rlShare: result.rlShare,
    misrouted: misrouted / input.keys.length,
    rlShareByPartition: rlByPartition.map((n) => n / PER_PARTITION),
  };
}

describe('global arbitration window (arbitration.state kafka), two instances, skewed partitions', () => {
  it('routes the whole stream on one threshold where per-instance windows split their own partitions', async () => {
    try {
      const global = await runVariant('kafka');
      const local = await runVariant('local');
      const fmt = (o: Outcome) =>
        `${o.state}: RL share ${(100 * o.rlShare).toFixed(1)} %, routed against the stream median ${(100 * o.misrouted).toFixed(1)} %, RL share by partition (low, middle, high) ${o.rlShareByPartition.map((s) => `${(100 * s).toFixed(1)} %`).join(', ')}`;
      process.stdout.write(`${fmt(global)}\n${fmt(local)}\n`);
      // One threshold for the stream: the RL share is on target, the high third goes to RL and the
      // low third to SFT, as the median of all 3,000 scores would route them.
      expect(Math.abs(global.rlShare - 0.5)).toBeLessThanOrEqual(0.03);
      expect(global.misrouted).toBeLessThan(0.08);
      expect(global.rlShareByPartition[2]).toBeGreaterThan(0.9);
      expect(global.rlShareByPartition[0]).toBeLessThan(0.1);
      // Per-instance windows: each instance sends half of ITS records to RL, so whichever instance
      // owns one third alone routes half of that third against the stream's median.
      expect(local.misrouted).toBeGreaterThan(0.15);
      expect(local.misrouted).toBeGreaterThan(global.misrouted + 0.1);
    } finally {
      removeTempDirs();
    }
  });
});
