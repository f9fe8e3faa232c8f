/**
 * Issue 19, fault 2: a broker outage shorter than kafka.unavailablePatienceMs must be ridden out.
 * A private broker (helpers/own-broker.ts) is killed with SIGKILL twice for 30 s each (long enough
 * for kafkajs to exhaust its retries and crash-restart the consumers) while `prism run` holds a
 * backlog of a 3,000-record input (slow deterministic scorer, small in-flight caps: partitions
 * paused) and `prism train sft` trains what it routes. Both processes must stay up (the same
 * processes, never an exit), report 503 on /readyz while the broker is away and 200 after, route
 * every input exactly once, and train every SFT record exactly once.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { LocalSchemaRegistry } from '../../src/schemas/local-registry.ts';
import { readIdLog } from '../../src/trainer/id-log.ts';
import { countingTrajectory } from '../unit/trainer-fixtures.ts';
import { uniqueName } from './helpers/kafka.ts';
import { OwnBroker, readCommittedFrom } from './helpers/own-broker.ts';
import { ROOT, diagnostics, type RunningCli } from './run-fixtures.ts';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds; `what()` says what was last seen (the budget only bounds a hang). */
async function waitFor(
  what: () => string,
  cond: () => Promise<boolean> | boolean,
  budgetMs: number,
  alive: RunningCli[] = [],
): Promise<void> {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    for (const p of alive)
      if (p.child.exitCode !== null)
        throw new Error(`a process exited (${p.child.exitCode}) while waiting for ${what()}`);
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(250);
  }
}

function cli(args: string[]): RunningCli {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'prism.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, PRISM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  // PRISM_TEST_LOG_DIR=<dir> keeps each child's JSON log for a post-mortem.
  const keep = process.env.PRISM_TEST_LOG_DIR;
  const file = keep ? join(keep, `outage-${args[0]}-${args[1]}-${child.pid}.log`) : undefined;
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    if (file) appendFileSync(file, d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => err };
}

async function portOf(p: RunningCli): Promise<number> {
  let port = 0;
  await waitFor(
    () => 'the HTTP port in the logs',
    () => {
      const line =
        p
          .stderr()
          .split('\n')
          .find((l) => l.includes('http server listening')) ?? '';
      const found = /"port":(\d+)/.exec(line);
      if (found) port = Number(found[1]);
      return port > 0;
    },
    120_000,
    [p],
  );
  return port;
}

async function readyStatus(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

/** Polls /readyz in the background; `seen()` lists the distinct statuses since the last reset. */
function pollReady(port: number): { seen: () => Set<number>; reset: () => void; stop: () => void } {
  let seen = new Set<number>();
  let on = true;
  void (async () => {
    while (on) {
      seen.add(await readyStatus(port));
      await sleep(250);
    }
  })();
  return { seen: () => seen, reset: () => (seen = new Set()), stop: () => (on = false) };
}

const codec = new RecordCodec('trajectory', { registry: LocalSchemaRegistry.fromFile() });

async function produce(topic: string, n: number): Promise<string[]> {
  const messages: Message[] = [];
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `o-${i}`;
    messages.push({ key: id, value: await codec.encode(countingTrajectory(id, i % 40)) });
    keys.push(id);
  }
  const producer = broker.kafka('outage-input').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  } finally {
    await producer.disconnect();
  }
  return keys;
}

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
    const keys = await produce(topics.trajectories, RECORDS);

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
    const run = cli([
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
    const trainer = cli(['train', 'sft', '--config', configPath, '--no-progress']);
    const both = [run, trainer];
    let lastCommitted = 0n;
    const progress = () => `committed ${lastCommitted}/${RECORDS}`;
    try {
      const [runPort, trainPort] = [await portOf(run), await portOf(trainer)];
      const runReady = pollReady(runPort);
      const trainReady = pollReady(trainPort);
      const outages: string[] = [];
      for (const after of [300n, 1200n]) {
        await waitFor(
          () => `the run to commit ${after} records before outage ${outages.length + 1} (${progress()})`,
          async () => (lastCommitted = await committed(group, topics.trajectories)) >= after,
          240_000,
          both,
        );
        await broker.kill('SIGKILL');
        runReady.reset();
        trainReady.reset();
        const t0 = Date.now();
        await sleep(OUTAGE_MS);
        expect(run.child.exitCode, `prism run still up ${OUTAGE_MS} ms into the outage`).toBeNull();
        expect(trainer.child.exitCode, `trainer still up ${OUTAGE_MS} ms into the outage`).toBeNull();
        await broker.up(true);
        await waitFor(
          () => `both ready again after outage ${outages.length + 1} (${progress()})`,
          async () => (await readyStatus(runPort)) === 200 && (await readyStatus(trainPort)) === 200,
          180_000,
          both,
        );
        outages.push(`${Date.now() - t0} ms at ${after} committed`);
        expect(runReady.seen().has(503), `run said 503 during outage ${outages.length}`).toBe(true);
        expect(trainReady.seen().has(503), `trainer said 503 during outage ${outages.length}`).toBe(true);
      }
      runReady.stop();
      trainReady.stop();

      await waitFor(
        () => `every input committed (${progress()})`,
        async () => (lastCommitted = await committed(group, topics.trajectories)) >= BigInt(RECORDS),
        300_000,
        both,
      );
      const out = await readCommittedFrom(broker.brokers, topics.sft, topics.rl, topics.dlq);
      const counts = new Map<string, number>();
      for (const r of out) counts.set(r.key ?? '<null>', (counts.get(r.key ?? '<null>') ?? 0) + 1);
      const problems = keys.filter((k) => counts.get(k) !== 1).map((k) => `${k}: ${counts.get(k) ?? 0}`);
      expect(problems, diagnostics({ run })).toEqual([]);
      expect(out.length).toBe(RECORDS);

      const sftKeys = out.filter((r) => r.topic === topics.sft).map((r) => r.key);
      await waitFor(
        () =>
          `the trainer to train all ${sftKeys.length} SFT records (id log: ${readIdLog(idLog).entries.length})`,
        () => readIdLog(idLog).entries.length >= sftKeys.length,
        300_000,
        both,
      );
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
