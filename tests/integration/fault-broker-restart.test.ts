/**
 * Broker faults: a private broker (helpers/own-broker.ts) is stopped mid-stream — once with
 * SIGTERM, once with SIGKILL — and restarted on the same ports and data dir while `prism run`
 * (deterministic scorer) and `prism train sft` (tiny model) keep running. Both must report
 * not-ready on /readyz during the outage, ready after, and lose or repeat nothing. A broker that
 * stays away longer than kafka.unavailablePatienceMs makes both exit non-zero without a partial
 * commit.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdLog } from '../../src/trainer/id-log.ts';
import { createTopicsAndWait, uniqueName } from './helpers/kafka.ts';
import { OwnBroker, readCommittedFrom } from './helpers/own-broker.ts';
import { waitForCount, waitUntil } from './helpers/wait.ts';
import {
  childTail as tail,
  pollReady,
  portOf,
  prismChild,
  produceCounting,
  readyStatus,
  sleep,
} from './fault-fixtures.ts';
import { diagnostics, type RunningCli } from './run-fixtures.ts';
import { tempDir, tinyModelDir } from './train-helpers.ts';

let broker: OwnBroker;
const tmp = tempDir('fault-broker-');

beforeAll(async () => {
  broker = await OwnBroker.start();
}, 120_000);

afterAll(async () => {
  await broker?.destroy();
  tmp.remove();
});

async function createTopics(names: Record<string, number>): Promise<void> {
  const admin = broker.kafka('fault-admin').admin();
  await admin.connect();
  try {
    await createTopicsAndWait(
      admin,
      Object.entries(names).map(([topic, numPartitions]) => ({ topic, numPartitions, replicationFactor: 1 })),
    );
  } finally {
    await admin.disconnect();
  }
}

async function committed(group: string, topic: string): Promise<bigint> {
  const admin = broker.kafka('fault-offsets').admin();
  await admin.connect();
  try {
    const [e] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (e?.partitions ?? []).reduce((s, p) => s + (BigInt(p.offset) > 0n ? BigInt(p.offset) : 0n), 0n);
  } finally {
    await admin.disconnect();
  }
}

interface Setup {
  topics: { trajectories: string; sft: string; rl: string; dlq: string; modelUpdates: string };
  group: string;
}

async function setup(prefix: string): Promise<Setup> {
  const topics = {
    trajectories: uniqueName(`${prefix}-in`),
    sft: uniqueName(`${prefix}-sft`),
    rl: uniqueName(`${prefix}-rl`),
    dlq: uniqueName(`${prefix}-dlq`),
    modelUpdates: uniqueName(`${prefix}-upd`),
  };
  await createTopics({
    [topics.trajectories]: 3,
    [topics.sft]: 2,
    [topics.rl]: 2,
    [topics.dlq]: 1,
    [topics.modelUpdates]: 1,
  });
  return { topics, group: uniqueName(`${prefix}-group`) };
}

function runCli(s: Setup, extra: Record<string, string | number> = {}): RunningCli {
  const settings: Record<string, string | number> = {
    'topics.trajectories': s.topics.trajectories,
    'topics.sft': s.topics.sft,
    'topics.rl': s.topics.rl,
    'topics.dlq': s.topics.dlq,
    'scorer.kind': 'deterministic',
    'scorer.deterministic.delayMs': 20,
    'arbitration.policy': 'threshold',
    'arbitration.threshold': 0.5,
    'consumer.sessionTimeoutMs': 6000,
    'consumer.heartbeatIntervalMs': 1000,
    'consumer.maxWaitTimeMs': 200,
    'lifecycle.drainTimeoutMs': 5000,
    'lifecycle.shutdownTimeoutMs': 15_000,
    'batch.size': 32,
    'batch.maxWaitMs': 100,
    'http.port': 0,
    'http.brokerStaleMs': 2000,
    ...extra,
  };
  return prismChild([
    'run',
    '--brokers',
    broker.brokers.join(','),
    '--group',
    s.group,
    '--no-dashboard',
    ...Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ]);
}

async function trainerCli(
  s: Setup,
  name: string,
  patienceMs: number,
): Promise<{ p: RunningCli; idLog: string }> {
  const dir = join(tmp.path, name);
  const idLog = join(dir, 'ids.jsonl');
  const configPath = join(tmp.path, `${name}.yaml`);
  writeFileSync(
    configPath,
    JSON.stringify({
      kafka: { brokers: broker.brokers, unavailablePatienceMs: patienceMs },
      topics: s.topics,
      trainer: {
        checkpointRoot: join(dir, 'ckpt'),
        backend: 'cpu',
        sft: {
          modelId: `${name}-sft`,
          groupId: uniqueName(`${name}-g`),
          initModelDir: await tinyModelDir(tmp.path, 7),
          idLog,
          microBatchSize: 8,
          maxBatchWaitMs: 300,
          maxSeqLen: 32,
          checkpoint: { everySteps: 10, everySeconds: 3600 },
          metrics: { port: 0 },
          sessionTimeoutMs: 6000,
        },
      },
    }),
  );
  return { p: prismChild(['train', 'sft', '--config', configPath, '--no-progress']), idLog };
}

describe('broker restart mid-stream', () => {
  it('prism run and prism train sft ride out a SIGTERM and a SIGKILL restart: not ready while away, nothing lost or repeated', async ({
    annotate,
  }) => {
    const s = await setup('fault');
    const keys = await produceCounting(broker, s.topics.trajectories, 'f', 0, 1200);
    // Patience far above any restart: on a loaded machine the broker JVM alone can take minutes to
    // come back, and the default 120 s patience then (correctly) stops both processes; that path
    // is the next test's subject, this one is about riding a restart out.
    const run = runCli(s, { 'kafka.unavailablePatienceMs': 900_000 });
    const { p: trainer, idLog } = await trainerCli(s, 'fault', 900_000);
    try {
      const [runPort, trainPort] = [await portOf(run), await portOf(trainer)];
      const runReady = pollReady(runPort);
      const trainReady = pollReady(trainPort);
      await waitUntil({
        what: 'run ready',
        check: async () => {
          const st = await readyStatus(runPort);
          return st === 200 || `/readyz ${st}`;
        },
        context: () => tail(run, 'prism run'),
      });
      await waitForCount({
        what: 'the run to commit 300 records',
        target: 300,
        read: () => committed(s.group, s.topics.trajectories),
        context: () => tail(run, 'prism run'),
      });

      const outages: string[] = [];
      for (const [signal, next] of [
        ['SIGTERM', 2000],
        ['SIGKILL', 2800],
      ] as const) {
        await broker.kill(signal);
        runReady.reset();
        trainReady.reset();
        const t0 = Date.now();
        await sleep(4000);
        await broker.up(true);
        await waitUntil({
          what: `both ready again after the ${signal} restart`,
          check: async () => {
            const [r, t] = [await readyStatus(runPort), await readyStatus(trainPort)];
            return (r === 200 && t === 200) || `run /readyz ${r}, trainer /readyz ${t}`;
          },
          // Bounds a hang only: rejoining after a restart is slow on a loaded machine.
          budgetMs: 240_000,
          context: () => `${tail(run, 'prism run')}\n${tail(trainer, 'prism train sft')}`,
        });
        outages.push(`${signal}: ${Date.now() - t0} ms`);
        expect(runReady.seen().has(503), `run reported 503 during the ${signal} outage`).toBe(true);
        expect(trainReady.seen().has(503), `trainer reported 503 during the ${signal} outage`).toBe(true);
        expect(run.child.exitCode).toBe(null);
        expect(trainer.child.exitCode).toBe(null);
        keys.push(...(await produceCounting(broker, s.topics.trajectories, 'f', keys.length, next)));
      }
      runReady.stop();
      trainReady.stop();

      await waitForCount({
        what: 'every input committed',
        target: keys.length,
        read: () => committed(s.group, s.topics.trajectories),
        context: () => tail(run, 'prism run', 30),
      });
      const out = await readCommittedFrom(broker.brokers, s.topics.sft, s.topics.rl, s.topics.dlq);
      const counts = new Map<string, number>();
      for (const r of out) counts.set(r.key ?? '<null>', (counts.get(r.key ?? '<null>') ?? 0) + 1);
      const problems = keys.filter((k) => counts.get(k) !== 1).map((k) => `${k}: ${counts.get(k) ?? 0}`);
      expect(problems, diagnostics({ run })).toEqual([]);
      expect(counts.size).toBe(keys.length);

      const sftKeys = out.filter((r) => r.topic === s.topics.sft).map((r) => r.key);
      await waitForCount({
        what: 'the trainer to train every SFT record',
        target: sftKeys.length,
        read: () => readIdLog(idLog).entries.length,
        context: () => tail(trainer, 'prism train sft', 30),
      });
      await sleep(1000);
      const ids = readIdLog(idLog).entries.map((e) => e.id);
      expect(new Set(ids).size, 'no record trained twice').toBe(ids.length);
      expect([...ids].sort()).toEqual([...sftKeys].sort());
      await annotate(`${keys.length} inputs, ${sftKeys.length} trained; outages ${outages.join(', ')}`);
    } finally {
      run.child.kill('SIGTERM');
      trainer.child.kill('SIGTERM');
    }
    expect((await run.exited).code, diagnostics({ run })).toBe(0);
    expect((await trainer.exited).code, diagnostics({ trainer })).toBe(0);
    // Bounds a hang only; the waits above fail on a stall, not on a slow machine.
  }, 900_000);

  it('a broker away longer than kafka.unavailablePatienceMs stops run and trainer non-zero, with no partial commit', async () => {
    const s = await setup('patience');
    const keys = await produceCounting(broker, s.topics.trajectories, 'f', 0, 1500);
    const run = runCli(s, { 'kafka.unavailablePatienceMs': 5000, 'scorer.deterministic.delayMs': 40 });
    const { p: trainer } = await trainerCli(s, 'patience', 5000);
    await waitForCount({
      what: 'the run to commit 200 records',
      target: 200,
      read: () => committed(s.group, s.topics.trajectories),
      context: () => tail(run, 'prism run'),
    });
    await broker.kill('SIGKILL');
    const [r, t] = await Promise.all([run.exited, trainer.exited]);
    expect(r.code, diagnostics({ run })).not.toBe(0);
    expect(r.code).not.toBe(null);
    expect(t.code, diagnostics({ trainer })).not.toBe(0);
    expect(run.stderr()).toMatch(/BROKER_UNAVAILABLE/);
    expect(run.stderr()).toMatch(/unavailablePatienceMs=5000/);
    expect(trainer.stderr()).toMatch(/BROKER_UNAVAILABLE/);

    await broker.up(true);
    const again = runCli(s);
    try {
      await waitForCount({
        what: 'every input committed',
        target: keys.length,
        read: () => committed(s.group, s.topics.trajectories),
        context: () => tail(again, 'prism run (again)', 30),
      });
    } finally {
      again.child.kill('SIGTERM');
    }
    expect((await again.exited).code, diagnostics({ again })).toBe(0);
    const out = await readCommittedFrom(broker.brokers, s.topics.sft, s.topics.rl, s.topics.dlq);
    const counts = new Map<string, number>();
    for (const o of out) counts.set(o.key ?? '<null>', (counts.get(o.key ?? '<null>') ?? 0) + 1);
    expect(
      keys.filter((k) => counts.get(k) !== 1),
      diagnostics({ run, again }),
    ).toEqual([]);
    expect(out.length).toBe(keys.length);
  }, 600_000);
});
