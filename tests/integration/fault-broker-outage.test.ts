/**
 * Issue 19, fault 2: a broker outage shorter than kafka.unavailablePatienceMs must be ridden out.
 * A private broker (helpers/own-broker.ts) is killed with SIGKILL twice for 30 s each (long enough
 * for kafkajs to exhaust its retries and crash-restart the consumers) while `prism run` holds a
 * backlog of a 3,000-record input (slow deterministic scorer, small in-flight caps: partitions
 * paused) and `prism train sft` trains what it routes. Both processes must stay up (the same
 * processes, never an exit), report 503 on /readyz while the broker is away and 200 after, route
 * every input exactly once, and train every SFT record exactly once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdLog } from '../../src/trainer/id-log.ts';
import { uniqueName } from './helpers/kafka.ts';
import { OwnBroker, readCommittedFrom } from './helpers/own-broker.ts';
import {
  assertAlive,
  childTail,
  pollReady,
  portOf,
  prismChild,
  produceCounting,
  readyStatus,
  sleep,
} from './fault-fixtures.ts';
import { waitForCount, waitUntil } from './helpers/wait.ts';
import { diagnostics } from './run-fixtures.ts';
import { tempDir, tinyModelDir } from './train-helpers.ts';

const RECORDS = 3000;
const OUTAGE_MS = 30_000;

let broker: OwnBroker;
const tmp = tempDir('fault-outage-');

beforeAll(async () => {
  broker = await OwnBroker.start();
}, 120_000);

afterAll(async () => {
  await broker?.destroy();
  tmp.remove();
});

async function withAdmin<T>(fn: (a: ReturnType<ReturnType<OwnBroker['kafka']>['admin']>) => Promise<T>) {
  const admin = broker.kafka('outage-admin').admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Sum of the group's committed offsets; -1 while the broker does not answer. */
async function committed(group: string, topic: string): Promise<bigint> {
  try {
    return await withAdmin(async (admin) => {
      const [e] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return (e?.partitions ?? []).reduce((s, p) => s + (BigInt(p.offset) > 0n ? BigInt(p.offset) : 0n), 0n);
    });
  } catch {
    return -1n;
  }
}

const count = (text: string, re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;

describe('broker outages shorter than the patience (issue 19)', () => {
  it('prism run and prism train sft ride out two 30 s kill -9 outages during a 3,000-record run: same processes, exactly once', async ({
    annotate,
  }) => {
    const topics = {
      trajectories: uniqueName('outage-in'),
      sft: uniqueName('outage-sft'),
      rl: uniqueName('outage-rl'),
      dlq: uniqueName('outage-dlq'),
      modelUpdates: uniqueName('outage-upd'),
    };
    await withAdmin((admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: topics.trajectories, numPartitions: 3, replicationFactor: 1 },
          { topic: topics.sft, numPartitions: 2, replicationFactor: 1 },
          { topic: topics.rl, numPartitions: 2, replicationFactor: 1 },
          { topic: topics.dlq, numPartitions: 1, replicationFactor: 1 },
          { topic: topics.modelUpdates, numPartitions: 1, replicationFactor: 1 },
        ],
      }),
    );
    const group = uniqueName('outage-group');
    const keys = await produceCounting(broker, topics.trajectories, 'o', 0, RECORDS);

    // A backlog: every partition hits its in-flight cap and pauses behind a slow scorer.
    const settings: Record<string, string | number> = {
      'topics.trajectories': topics.trajectories,
      'topics.sft': topics.sft,
      'topics.rl': topics.rl,
      'topics.dlq': topics.dlq,
      'scorer.kind': 'deterministic',
      'scorer.deterministic.delayMs': 250,
      'arbitration.policy': 'threshold',
      'arbitration.threshold': 0.5,
      'consumer.highWatermark': 64,
      'consumer.lowWatermark': 16,
      'consumer.sessionTimeoutMs': 6000,
      'consumer.heartbeatIntervalMs': 1000,
      'consumer.maxWaitTimeMs': 200,
      'lifecycle.drainTimeoutMs': 5000,
      'lifecycle.shutdownTimeoutMs': 15_000,
      'batch.size': 32,
      'batch.maxWaitMs': 100,
      'http.port': 0,
      'http.brokerStaleMs': 2000,
      'kafka.unavailablePatienceMs': 120_000,
    };
    const run = prismChild([
      'run',
      '--brokers',
      broker.brokers.join(','),
      '--group',
      group,
      '--no-dashboard',
      ...Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
    ]);
    const idLog = join(tmp.path, 'ids.jsonl');
    const configPath = join(tmp.path, 'trainer.yaml');
    writeFileSync(
      configPath,
      JSON.stringify({
        kafka: { brokers: broker.brokers, unavailablePatienceMs: 120_000 },
        topics,
        trainer: {
          checkpointRoot: join(tmp.path, 'ckpt'),
          backend: 'cpu',
          sft: {
            modelId: 'outage-sft',
            groupId: uniqueName('outage-trainer'),
            initModelDir: await tinyModelDir(tmp.path, 7),
            idLog,
            microBatchSize: 16,
            maxBatchWaitMs: 300,
            maxSeqLen: 32,
            checkpoint: { everySteps: 10, everySeconds: 3600 },
            metrics: { port: 0 },
            sessionTimeoutMs: 6000,
          },
        },
      }),
    );
    const trainer = prismChild(['train', 'sft', '--config', configPath, '--no-progress']);
    const both = [run, trainer];
    let lastCommitted = 0n;
    const progress = () => `committed ${lastCommitted}/${RECORDS}`;
    const logs = () => `${childTail(run, 'prism run', 30)}\n${childTail(trainer, 'prism train sft', 30)}`;
    /** The group's committed total; a process that exited fails the wait (as "last read failed"). */
    const readCommitted = async (): Promise<bigint> => {
      assertAlive(both);
      const c = await committed(group, topics.trajectories);
      if (c < 0n) throw new Error('the broker does not answer');
      lastCommitted = c;
      return c;
    };
    try {
      const [runPort, trainPort] = [await portOf(run), await portOf(trainer)];
      const runReady = pollReady(runPort);
      const trainReady = pollReady(trainPort);
      const outages: string[] = [];
      for (const after of [300n, 1200n]) {
        await waitForCount({
          what: `the run to commit ${after} records before outage ${outages.length + 1}`,
          target: after,
          read: () => readCommitted(),
          context: logs,
        });
        await broker.kill('SIGKILL');
        runReady.reset();
        trainReady.reset();
        const t0 = Date.now();
        await sleep(OUTAGE_MS);
        expect(run.child.exitCode, `prism run still up ${OUTAGE_MS} ms into the outage`).toBeNull();
        expect(trainer.child.exitCode, `trainer still up ${OUTAGE_MS} ms into the outage`).toBeNull();
        await broker.up(true);
        await waitUntil({
          what: `both ready again after outage ${outages.length + 1}`,
          check: async () => {
            assertAlive(both);
            const [r, t] = [await readyStatus(runPort), await readyStatus(trainPort)];
            return (r === 200 && t === 200) || `/readyz: run ${r}, trainer ${t} (${progress()})`;
          },
          budgetMs: 180_000,
          context: logs,
        });
        outages.push(`${Date.now() - t0} ms at ${after} committed`);
        expect(runReady.seen().has(503), `run said 503 during outage ${outages.length}`).toBe(true);
        expect(trainReady.seen().has(503), `trainer said 503 during outage ${outages.length}`).toBe(true);
      }
      runReady.stop();
      trainReady.stop();

      await waitForCount({
        what: 'every input committed',
        target: RECORDS,
        read: () => readCommitted(),
        context: logs,
      });
      const out = await readCommittedFrom(broker.brokers, topics.sft, topics.rl, topics.dlq);
      const counts = new Map<string, number>();
      for (const r of out) counts.set(r.key ?? '<null>', (counts.get(r.key ?? '<null>') ?? 0) + 1);
      const problems = keys.filter((k) => counts.get(k) !== 1).map((k) => `${k}: ${counts.get(k) ?? 0}`);
      expect(problems, diagnostics({ run })).toEqual([]);
      expect(out.length).toBe(RECORDS);

      const sftKeys = out.filter((r) => r.topic === topics.sft).map((r) => r.key);
      await waitForCount({
        what: `the trainer to train all ${sftKeys.length} SFT records (id log entries)`,
        target: sftKeys.length,
        read: () => {
          assertAlive(both);
          return readIdLog(idLog).entries.length;
        },
        context: logs,
      });
      await sleep(1000);
      const ids = readIdLog(idLog).entries.map((e) => e.id);
      expect(new Set(ids).size, 'no record trained twice').toBe(ids.length);
      expect([...ids].sort()).toEqual([...sftKeys].sort());
      expect(run.child.exitCode, 'the same prism run process did it all').toBeNull();
      expect(trainer.child.exitCode, 'the same trainer process did it all').toBeNull();
      expect(run.stderr()).not.toMatch(/"level":60/); // nothing reached the last-resort handler
      expect(
        count(run.stderr(), /consumer crashed \(broker away\?\)/),
        'kafkajs crash-restarted the consumer during the outages (the path of issue 19)',
      ).toBeGreaterThan(0);
      await annotate(
        `${RECORDS} inputs, ${sftKeys.length} trained; outages ${outages.join(', ')}; kafkajs consumer crash-restarts: ` +
          `run ${count(run.stderr(), /consumer crashed \(broker away\?\)/)}, trainer ${count(trainer.stderr(), /Restarting the consumer/)}`,
      );
    } finally {
      run.child.kill('SIGTERM');
      trainer.child.kill('SIGTERM');
    }
    expect((await run.exited).code, diagnostics({ run })).toBe(0);
    expect((await trainer.exited).code, diagnostics({ trainer })).toBe(0);
  }, 900_000);
});
