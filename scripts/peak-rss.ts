/**
 * Peak RSS of `prism run` under full load, per probe-model preset (docs: README "Failure
 * behaviour and resource limits"). Starts a private broker (same code as `prism kafka up`, ephemeral
 * ports, temp dir) unless PRISM_KAFKA_BROKERS is set, writes `--records` trajectories up front
 * (so the arbitrator is never idle), runs `prism run --model <preset>` until every input offset
 * is committed, and samples /proc/<pid>/status VmRSS every 100 ms.
 *
 *   npx tsx scripts/peak-rss.ts [--presets tiny,small] [--records 2000] [--backend auto]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
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

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'prism-peak-rss-'));
  let stop: (() => Promise<unknown>) | undefined;
  let brokers = process.env.PRISM_KAFKA_BROKERS?.split(',');
  try {
    if (brokers === undefined) {
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
      stop = () => stopBroker(state, { graceMs: 10_000 });
      brokers = [`127.0.0.1:${clientPort}`];
    }
    const kafka = createKafka({ brokers, clientId: 'peak-rss', logLevel: 'nothing' });
    const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
    const rows: string[] = [];
    for (const preset of values.presets.split(',')) {
      const modelDir = join(tmp, preset);
      execFileSync(
        process.execPath,
        [join(ROOT, 'bin', 'prism.mjs'), 'model', 'init', '--preset', preset, '--out', modelDir],
        {
          env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
        },
      );
      const suffix = `${preset}-${Date.now().toString(36)}`;
      const topics = {
        in: `rss-in-${suffix}`,
        sft: `rss-sft-${suffix}`,
        rl: `rss-rl-${suffix}`,
        dlq: `rss-dlq-${suffix}`,
      };
      const admin = kafka.admin();
      await admin.connect();
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
      const group = `rss-group-${suffix}`;
      const child = spawn(
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
      let peak = 0;
      const sampler = setInterval(() => {
        try {
          const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) peak = Math.max(peak, Number(m[1]) * 1024);
        } catch {
          /* exited */
        }
      }, 100);
      const t0 = Date.now();
      for (;;) {
        const [o] = await admin.fetchOffsets({ groupId: group, topics: [topics.in] });
        const done = (o?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
        if (done >= records) break;
        if (child.exitCode !== null) throw new Error(`prism run exited ${child.exitCode}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const seconds = (Date.now() - t0) / 1000;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      clearInterval(sampler);
      await admin.disconnect();
      rows.push(
        `| ${preset} | ${values.backend} | ${records} | ${seconds.toFixed(1)} | ${(peak / 2 ** 20).toFixed(0)} |`,
      );
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
