/**
 * kill -9 of one of two `prism run` instances mid-stream, then a restart. With arbitration.state
 * kafka the restarted instance restores the window from the scores topic before it reads a record,
 * so its first micro-batch is decided without a warm-up hold; exactly-once still holds over
 * sft + rl + dlq (read_committed). The same run with arbitration.state local is measured for
 * comparison (its restarted window starts empty and waits for the warm-up).
 */
import { describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { testKafka, uniqueName } from './helpers/kafka.ts';
import {
  audit,
  committedTotal,
  createOutputs,
  diagnostics,
  exactlyOnceViolations,
  runArgs,
  startCli,
  trajectory,
  waitFor,
  waitUntilConsumed,
  writeInput,
  type RunningCli,
} from './run-fixtures.ts';

const WARMUP = 200;

const joinedWith = (p: RunningCli): number[][] =>
  p
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"msg":"joined group"'))
    .map((l) => (JSON.parse(l) as { partitions: number[] }).partitions);

/** Appends `n` trajectories to an existing input topic (spread over its partitions by key). */
async function append(topic: string, idPrefix: string, n: number): Promise<string[]> {
  const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
  const producer = testKafka('prism-test-restart').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const keys: string[] = [];
  try {
    for (let from = 0; from < n; from += 500) {
      const messages = [];
      for (let i = from; i < Math.min(n, from + 500); i += 1) {
        const id = `${idPrefix}-${i}`;
        keys.push(id);
        messages.push({ key: id, value: await codec.encode(trajectory(id, i)) });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return keys;
}

interface LogLine {
  readonly msg: string;
  readonly time: number;
  readonly [k: string]: unknown;
}

function logLines(p: RunningCli, msg: string): LogLine[] {
  return p
    .stderr()
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as LogLine);
}

interface Restart {
  /** From the restarted process's first fetched records to its first committed micro-batch. */
  readonly firstRecordsToFirstCommitMs: number;
  readonly uptimeAtFirstCommitSeconds: number;
  readonly ready?: LogLine;
  readonly firstCommit: LogLine;
}

async function killAndRestart(state: 'kafka' | 'local'): Promise<Restart> {
  // First half before the kill; the second half only once the restarted instance owns partitions,
  // so it has records to decide whatever the machine's speed.
  const first = await writeInput(`restart-${state}-in`, 1500, { partitions: 3, poison: false });
  const out = await createOutputs(`restart-${state}`);
  const group = uniqueName(`restart-${state}-group`);
  const args = runArgs(first, out, group, {
    'arbitration.state': state,
    'topics.scores': uniqueName(`restart-${state}-scores`),
    'arbitration.warmup': WARMUP,
    'scorer.deterministic.delayMs': 40,
    'consumer.sessionTimeoutMs': 6000,
  });
  const a = startCli(args);
  const b = startCli(args);
  let a2: RunningCli | undefined;
  let keys = [...first.keys];
  try {
    await waitFor('1,000 records committed', async () => (await committedTotal(group, first.topic)) >= 1000n);
    a.child.kill('SIGKILL');
    await a.exited;
    const restarted = startCli(args);
    a2 = restarted;
    await waitFor(
      'the restarted instance to own partitions',
      async () => (joinedWith(restarted).at(-1) ?? []).length > 0 || restarted.child.exitCode !== null,
    );
    keys = [...keys, ...(await append(first.topic, `restart-${state}-second`, 1500))];
    await waitFor(
      'the restarted instance to commit a micro-batch',
      async () =>
        logLines(restarted, 'first micro-batch committed').length > 0 || restarted.child.exitCode !== null,
    );
    await waitUntilConsumed(group, first.topic);
  } finally {
    a.child.kill('SIGKILL');
    b.child.kill('SIGTERM');
    a2?.child.kill('SIGTERM');
  }
  const procs = { a, b, ...(a2 ? { a2 } : {}) };
  expect((await b.exited).code, diagnostics(procs)).toBe(0);
  expect(a2 && (await a2.exited).code, diagnostics(procs)).toBe(0);
  const result = await audit(out);
  expect(exactlyOnceViolations({ ...first, keys }, result), diagnostics(procs)).toEqual([]);

  const restarted = a2 as RunningCli;
  const firstCommit = logLines(restarted, 'first micro-batch committed')[0];
  const firstBatch = logLines(restarted, 'first batch of lane')[0];
  expect(firstCommit, diagnostics(procs)).toBeDefined();
  expect(firstBatch, diagnostics(procs)).toBeDefined();
  return {
    firstRecordsToFirstCommitMs: firstCommit.time - firstBatch.time,
    uptimeAtFirstCommitSeconds: Number(firstCommit.uptimeSeconds),
    ready: logLines(restarted, 'global window ready')[0],
    firstCommit,
  };
}

describe('restart with the window in Kafka (arbitration.state kafka)', () => {
  it('decides the first micro-batch after a kill -9 and restart without a warm-up hold, exactly once', async () => {
    const kafka = await killAndRestart('kafka');
    // Restored before the first record was read: warm, with at least the warm-up's scores.
    expect(kafka.ready).toMatchObject({ warm: true, complete: true });
    expect(Number(kafka.ready?.restored)).toBeGreaterThanOrEqual(WARMUP);
    expect(Number(kafka.firstCommit.windowSize)).toBeGreaterThanOrEqual(WARMUP);

    const local = await killAndRestart('local');
    expect(local.ready).toBeUndefined();
    process.stdout.write(
      `restart → first decision: kafka ${kafka.firstRecordsToFirstCommitMs} ms after its first records (process uptime ${kafka.uptimeAtFirstCommitSeconds} s, restored ${String(kafka.ready?.restored)} scores in ${Number(kafka.ready?.seconds).toFixed(3)} s); ` +
        `local ${local.firstRecordsToFirstCommitMs} ms after its first records (process uptime ${local.uptimeAtFirstCommitSeconds} s); ` +
        `window at the first decision: kafka ${String(kafka.firstCommit.windowSize)}, local ${String(local.firstCommit.windowSize)} scores\n`,
    );
  });
});
