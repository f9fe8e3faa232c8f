/**
 * `prism run` and the SFT trainer through a SASL_SSL listener (SCRAM-SHA-512, CA-verified TLS)
 * of a broker started like `prism kafka up --secure`; a wrong password and an untrusted CA each
 * end with a typed error and exit 2; the password never shows in output, logs or /metrics.
 */
import * as tf from '@tensorflow/tfjs';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { readIdLog } from '../../src/trainer/id-log.ts';
import { startTrainer } from '../../src/trainer/run.ts';
import { countingTrajectory, scored } from '../unit/trainer-fixtures.ts';
import { uniqueName } from './helpers/kafka.ts';
import { ROOT, trajectory } from './run-fixtures.ts';
import { otherCa, startSecureBroker, type SecureBroker } from './secure-helpers.ts';
import { scoredCodec, tempDir, tinyModelDir, waitFor } from './train-helpers.ts';

let broker: SecureBroker;
const tmp = tempDir('secure-');

beforeAll(async () => {
  broker = await startSecureBroker();
  await tf.setBackend('cpu');
}, 90_000);
afterAll(async () => {
  await broker?.stop();
  tmp.remove();
});

interface Cli {
  exited: Promise<number | null>;
  out: () => string;
  kill: (sig: NodeJS.Signals) => void;
}

/** `prism <args>` with the given env on top of ours (minus any PRISM_KAFKA_* of the caller). */
function prism(args: readonly string[], env: Record<string, string>): Cli {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PRISM_KAFKA_')));
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'prism.mjs'), ...args], {
    cwd: ROOT,
    env: { ...base, PRISM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return {
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
    out: () => out,
    kill: (sig) => child.kill(sig),
  };
}

/** The inline-password variant of the broker env (the strictest case for leaks). */
function inlineEnv(password: string): Record<string, string> {
  const { PRISM_KAFKA_SASL_PASSWORD_FILE: _file, ...rest } = broker.env;
  return { ...rest, PRISM_KAFKA_SASL_PASSWORD: password };
}

async function createTopics(names: readonly string[], partitions: number): Promise<void> {
  const admin = broker.kafka('secure-test-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: names.map((topic) => ({ topic, numPartitions: partitions })),
    });
  } finally {
    await admin.disconnect();
  }
}

async function committedSum(group: string, topic: string): Promise<number> {
  const admin = broker.kafka('secure-test-offsets').admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return t.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

const runSettings = (input: string, out: { sft: string; rl: string; dlq: string }): string[] =>
  Object.entries({
    'topics.trajectories': input,
    'topics.sft': out.sft,
    'topics.rl': out.rl,
    'topics.dlq': out.dlq,
    'scorer.kind': 'deterministic',
    'arbitration.window': 1024,
    'arbitration.warmup': 100,
    'consumer.highWatermark': 400,
    'consumer.lowWatermark': 200,
    'consumer.sessionTimeoutMs': 10_000,
    'consumer.heartbeatIntervalMs': 1000,
    'consumer.maxWaitTimeMs': 200,
    'lifecycle.shutdownTimeoutMs': 15_000,
    'batch.maxWaitMs': 100,
    'http.port': 0,
  }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);

describe('secure Kafka (SASL_SSL, SCRAM-SHA-512, CA-verified TLS)', () => {
  it('prism run scores every record exactly once through the secure listener and never shows the password', async () => {
    const n = 300;
    const input = uniqueName('sec-in');
    const out = { sft: uniqueName('sec-sft'), rl: uniqueName('sec-rl'), dlq: uniqueName('sec-dlq') };
    await createTopics([input], 3);
    await createTopics([out.sft, out.rl, out.dlq], 2);
    const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
    const messages: Message[] = [];
    for (let i = 0; i < n; i += 1)
      messages.push({ key: `s-${i}`, value: await codec.encode(trajectory(`s-${i}`, i)) });
    const producer = broker.kafka('secure-test-input').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: input, acks: -1, messages });
    await producer.disconnect();

    const group = uniqueName('sec-group');
    const env = inlineEnv(broker.password);
    const printed = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'bin', 'prism.mjs'), 'run', '--print-config'],
      { cwd: ROOT, env: { ...process.env, ...env } },
    );
    expect(printed.stdout).toContain('[redacted]');
    expect(printed.stdout + printed.stderr).not.toContain(broker.password);

    const run = prism(
      ['run', '--brokers', broker.brokers.join(','), '--group', group, ...runSettings(input, out)],
      env,
    );
    try {
      await waitFor(
        'all records committed',
        async () => (await committedSum(group, input)) === n,
        60_000,
        500,
      );
      const port = /"port":(\d+)[^\n]*http server listening/.exec(run.out())?.[1];
      expect(port).toBeDefined();
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('prism_');
      expect(metrics).not.toContain(broker.password);
    } finally {
      run.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
    expect(run.out()).not.toContain(broker.password);
    expect(run.out()).toContain('kafka connection secured');

    // Exactly once, read_committed, through the secure listener.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'tests', 'integration', 'run-reader.cjs'),
        broker.brokers.join(','),
        out.sft,
        out.rl,
        out.dlq,
      ],
      { env: { ...process.env, ...broker.env }, maxBuffer: 64 * 1024 * 1024 },
    );
    const counts = new Map<string, number>();
    for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
      const key = (JSON.parse(line) as { key: string }).key;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const wrong = Array.from({ length: n }, (_, i) => `s-${i}`).filter((k) => counts.get(k) !== 1);
    expect(wrong).toEqual([]);
    expect(counts.size).toBe(n);
  }, 90_000);

  it('a wrong password ends prism run with KAFKA_AUTH_FAILED and exit 2, without echoing it', async () => {
    const wrong = 'definitely-not-the-password-42';
    const run = prism(['run', '--set', 'http.enabled=false'], inlineEnv(wrong));
    const code = await run.exited;
    expect(run.out()).toContain('KAFKA_AUTH_FAILED');
    expect(code).toBe(2);
    expect(run.out()).not.toContain(wrong);
  }, 30_000);

  it('a broker certificate from an untrusted CA ends prism run with KAFKA_TLS_FAILED and exit 2', async () => {
    const run = prism(['run', '--set', 'http.enabled=false'], {
      ...broker.env,
      PRISM_KAFKA_SSL_CA_FILE: otherCa(tmp.path),
    });
    const code = await run.exited;
    expect(run.out()).toContain('KAFKA_TLS_FAILED');
    expect(code).toBe(2);
  }, 30_000);

  it('the SFT trainer trains, checkpoints and commits through the secure listener', async () => {
    const topics = {
      trajectories: uniqueName('sec-tr-in'),
      sft: uniqueName('sec-tr-sft'),
      rl: uniqueName('sec-tr-rl'),
      dlq: uniqueName('sec-tr-dlq'),
      modelUpdates: uniqueName('sec-tr-up'),
    };
    const idLog = join(tmp.path, 'sec-sft-ids.jsonl');
    const fast = {
      microBatchSize: 4,
      maxBatchWaitMs: 300,
      maxSeqLen: 32,
      metrics: { port: 0 },
      sessionTimeoutMs: 30_000,
    };
    const config = configSchema.parse({
      kafka: {
        brokers: broker.brokers,
        ssl: { caFile: broker.security.ssl.caFile },
        sasl: {
          mechanism: 'scram-sha-512',
          username: broker.security.sasl.username,
          passwordFile: broker.security.sasl.passwordFile,
        },
      },
      topics,
      trainer: {
        checkpointRoot: join(tmp.path, 'ckpt'),
        backend: 'cpu',
        sft: {
          groupId: uniqueName('sec-g-sft'),
          ...fast,
          modelId: 'sec-sft',
          idLog,
          initModelDir: await tinyModelDir(tmp.path),
          checkpoint: { everySteps: 2, everySeconds: 3600 },
        },
        rl: { groupId: uniqueName('sec-g-rl'), ...fast },
      },
    });
    const log = createLogger('secure-train-test', process.env.PRISM_LOG_LEVEL ?? 'warn');
    const handle = await startTrainer('sft', config, { log, backend: 'keep' });
    try {
      const codec = scoredCodec();
      const records = Array.from({ length: 8 }, (_, i) => scored(countingTrajectory(`sec-${i}`, i % 4)));
      const producer = broker.kafka('secure-test-scored').producer();
      await producer.connect();
      await producer.send({
        topic: topics.sft,
        acks: -1,
        messages: await Promise.all(
          records.map(async (r) => ({ key: r.trajectory.id, value: await codec.encode(r) })),
        ),
      });
      await producer.disconnect();
      await waitFor('all 8 records trained', () => readIdLog(idLog).entries.length === 8, 60_000);
      // A graceful stop checkpoints what was trained since the last checkpoint, then commits it.
      await handle.stop();
      expect(handle.loop.latestCheckpoint).toBeDefined();
      expect(await committedSum(config.trainer.sft.groupId, topics.sft)).toBe(8);
    } finally {
      await handle.stop();
    }
  }, 90_000);
});
