/**
 * Peak RSS of `prism run` under full load, per probe-model preset (docs: README "Failure
 * behaviour and resource limits"). Starts a private broker (same code as `prism kafka up`, ephemeral
 * ports, temp dir) unless PRISM_KAFKA_BROKERS is set, writes `--records` trajectories up front
 * (so the arbitrator is never idle), runs `prism run --model <preset>` until every input offset
 * is committed, and samples /proc/<pid>/status VmRSS every 100 ms.
 *
 *   npx tsx scripts/peak-rss.ts [--presets tiny,small] [--records 2000] [--backend auto]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '../src/kafka/client.ts';
import { ensureKafkaJars } from '../src/kafka/local/fetch-jars.ts';
import { freePorts } from '../src/kafka/local/net.ts';
import { startBroker, stopBroker } from '../src/kafka/local/process.ts';
import { parseKafkaVersion } from '../src/kafka/local/versions.ts';
import { RecordCodec } from '../src/schemas/codec.ts';
import { openLocalRegistry } from '../src/schema-store/registry-file.ts';
import type { Trajectory } from '../src/schemas/types.ts';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    presets: { type: 'string', default: 'tiny,small' },
    records: { type: 'string', default: '2000' },
    backend: { type: 'string', default: 'auto' },
  },
});
const records = Number(values.records);

function trajectory(i: number): Trajectory {
  return {
    id: `rss-${i}`,
    task_id: `task-${i % 97}`,
    env: 'alfworld',
    turns: [
      { role: 'system', content: 'You are an agent.', token_ids: null, logprobs: null },
      {
        role: 'user',
        content: `Put the mug ${i} in the sink, then report what you did.`,
        token_ids: null,
        logprobs: null,
      },
      {
        role: 'assistant',
        content:
          `go to countertop ${i % 5}; take mug ${i} from countertop ${i % 5}; go to sink 1; put mug ${i} in sink 1. `.repeat(
            3,
          ),
        token_ids: null,
        logprobs: null,
      },
    ],
    reward: i % 3 === 0 ? 1 : 0,
    metadata: {},
    created_at: 1_700_000_000_000 + i,
    behavior_model_version: 'behaviour-1',
  };
}

/** A private broker on ephemeral ports in `tmp` (same code as `prism kafka up`). */
async function ownBroker(tmp: string): Promise<{ brokers: string[]; stop: () => Promise<unknown> }> {
  const version = parseKafkaVersion(process.env.PRISM_KAFKA_VERSION);
  const jars = await ensureKafkaJars({ version });
  const [clientPort, controllerPort] = await freePorts(2);
  const state = await startBroker({
    version,
    libsDir: jars.libsDir,
    clientPort,
    controllerPort,
    runDir: join(tmp, 'kafka'),
    detached: false,
  });
  return { brokers: [`127.0.0.1:${clientPort}`], stop: () => stopBroker(state, { graceMs: 10_000 }) };
}

interface RssTopics {
  in: string;
  sft: string;
  rl: string;
  dlq: string;
}

/** Creates the preset's topics and writes every input record up front (the arbitrator is never idle). */
async function writeInput(
  kafka: Kafka,
  admin: Admin,
  topics: RssTopics,
  codec: RecordCodec<'trajectory'>,
): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })),
  });
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < records; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(records, i + 500); j++)
      batch.push({ key: `rss-${j}`, value: await codec.encode(trajectory(j)) });
    await producer.send({ topic: topics.in, acks: -1, messages: batch });
  }
  await producer.disconnect();
}

function spawnRun(brokers: string[], group: string, modelDir: string, topics: RssTopics): ChildProcess {
  return spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'prism.mjs'),
      'run',
      '--brokers',
      brokers.join(','),
      '--group',
      group,
      '--model',
      modelDir,
      '--no-dashboard',
      ...[
        'topics.trajectories=' + topics.in,
        'topics.sft=' + topics.sft,
        'topics.rl=' + topics.rl,
        'topics.dlq=' + topics.dlq,
        'scorer.backend=' + values.backend,
        'http.port=0',
      ].flatMap((s) => ['--set', s]),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** Samples VmRSS of `pid` every 100 ms; peak() is the highest seen. */
function rssSampler(pid: number | undefined): { peak: () => number; stop: () => void } {
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      /* exited */
    }
  }, 100);
  return { peak: () => peak, stop: () => clearInterval(sampler) };
}

/** Offsets the group committed on `topic`; 0 while a fresh broker still loads its group coordinator. */
async function committedCount(admin: Admin, group: string, topic: string): Promise<number> {
  try {
    const [o] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  } catch (err) {
    // e.g. GROUP_LOAD_IN_PROGRESS right after the broker started: ask again on the next poll.
    if ((err as { retriable?: unknown }).retriable === true) return 0;
    throw err;
  }
}

/** Until the group committed every input offset (or the child exited). */
async function awaitCommitted(
  admin: Admin,
  group: string,
  topic: string,
  child: ChildProcess,
): Promise<void> {
  for (;;) {
    const done = await committedCount(admin, group, topic);
    if (done >= records) break;
    if (child.exitCode !== null) throw new Error(`prism run exited ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One preset: model folder, fresh topics, `prism run` until everything is committed; the table row. */
async function measurePreset(
  kafka: Kafka,
  brokers: string[],
  codec: RecordCodec<'trajectory'>,
  tmp: string,
  preset: string,
): Promise<string> {
  const modelDir = join(tmp, preset);
  execFileSync(
    process.execPath,
    [join(ROOT, 'bin', 'prism.mjs'), 'model', 'init', '--preset', preset, '--out', modelDir],
    {
      env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
    },
  );
  const suffix = `${preset}-${Date.now().toString(36)}`;
  const topics: RssTopics = {
    in: `rss-in-${suffix}`,
    sft: `rss-sft-${suffix}`,
    rl: `rss-rl-${suffix}`,
    dlq: `rss-dlq-${suffix}`,
  };
  const admin = kafka.admin();
  await admin.connect();
  await writeInput(kafka, admin, topics, codec);
  const group = `rss-group-${suffix}`;
  const child = spawnRun(brokers, group, modelDir, topics);
  const rss = rssSampler(child.pid);
  const t0 = Date.now();
  await awaitCommitted(admin, group, topics.in, child);
  const seconds = (Date.now() - t0) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rss.stop();
  await admin.disconnect();
  return `| ${preset} | ${values.backend} | ${records} | ${seconds.toFixed(1)} | ${(rss.peak() / 2 ** 20).toFixed(0)} |`;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'prism-peak-rss-'));
  let stop: (() => Promise<unknown>) | undefined;
  let brokers = process.env.PRISM_KAFKA_BROKERS?.split(',');
  try {
    if (brokers === undefined) {
      const own = await ownBroker(tmp);
      stop = own.stop;
      brokers = own.brokers;
    }
    const kafka = createKafka({ brokers, clientId: 'peak-rss', logLevel: 'nothing' });
    const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
    const rows: string[] = [];
    for (const preset of values.presets.split(',')) {
      rows.push(await measurePreset(kafka, brokers, codec, tmp, preset));
      process.stderr.write(`${rows.at(-1)}\n`);
    }
    process.stdout.write(
      ['| preset | backend | records | seconds | peak RSS MiB |', '|---|---|---|---|---|', ...rows].join(
        '\n',
      ) + '\n',
    );
  } finally {
    await stop?.();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
