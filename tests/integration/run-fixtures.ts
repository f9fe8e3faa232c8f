/**
 * Shared helpers for the `prism run` integration tests: input topics with trajectories (and
 * poison records), child `prism run` processes, waiting on committed offsets, and the
 * exactly-once audit over sft + rl + dlq (read_committed).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { createTestTopic, endOffsets, testBrokers, testKafka, uniqueName } from './helpers/kafka.ts';
import { waitForCount, waitUntil } from './helpers/wait.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

export function trajectory(id: string, i: number): Trajectory {
  return {
    id,
    task_id: `task-${i % 97}`,
    env: 'alfworld',
    turns: [
      { role: 'system', content: 'You are an agent.', token_ids: null, logprobs: null },
      { role: 'user', content: `Put the mug ${i} in the sink.`, token_ids: null, logprobs: null },
      {
        role: 'assistant',
        content: `go to countertop ${i % 5}; take mug ${i}; go to sink; put mug`,
        token_ids: null,
        logprobs: null,
      },
    ],
    reward: i % 3 === 0 ? 1 : 0,
    metadata: { seed: String(i) },
    created_at: 1_700_000_000_000 + i,
    behavior_model_version: 'behaviour-1',
  };
}

/** Poison records: each must land in the DLQ with the reason code the key names. */
export const POISON: readonly { key: string; value: Buffer | null; code: string }[] = [
  { key: 'poison-bad-magic', value: Buffer.from('not avro at all'), code: 'DECODE_BAD_MAGIC' },
  { key: 'poison-empty', value: null, code: 'DECODE_EMPTY' },
  { key: 'poison-truncated', value: Buffer.from([0, 0, 0]), code: 'DECODE_TRUNCATED' },
];

export interface InputTopic {
  readonly topic: string;
  /** Every key written (trajectory ids and poison keys). */
  readonly keys: readonly string[];
  readonly poisonKeys: readonly string[];
}

/** Creates `topic` with `partitions` and writes `n` Avro trajectories (+ poison records spread through). */
export async function writeInput(
  prefix: string,
  n: number,
  opts: { partitions?: number; poison?: boolean; idPrefix?: string } = {},
): Promise<InputTopic> {
  const topic = await createTestTopic(uniqueName(prefix), { partitions: opts.partitions ?? 3 });
  const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
  const idPrefix = opts.idPrefix ?? 'traj';
  const messages: Message[] = [];
  const keys: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const id = `${idPrefix}-${i}`;
    messages.push({ key: id, value: await codec.encode(trajectory(id, i)) });
    keys.push(id);
  }
  const poisonKeys: string[] = [];
  if (opts.poison !== false) {
    POISON.forEach((p, j) => {
      messages.splice(Math.floor(((j + 1) * messages.length) / (POISON.length + 1)), 0, {
        key: p.key,
        value: p.value,
      });
      keys.push(p.key);
      poisonKeys.push(p.key);
    });
  }
  const producer = testKafka('prism-test-input').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    }
  } finally {
    await producer.disconnect();
  }
  return { topic, keys, poisonKeys };
}

export interface OutputTopics {
  readonly sft: string;
  readonly rl: string;
  readonly dlq: string;
}

export async function createOutputs(prefix: string): Promise<OutputTopics> {
  const [sft, rl, dlq] = await Promise.all(
    ['sft', 'rl', 'dlq'].map((t) => createTestTopic(uniqueName(`${prefix}-${t}`), { partitions: 2 })),
  );
  return { sft, rl, dlq };
}

/** Config overrides (`--set`) for a test run; http on a free port. */
export function runArgs(
  input: InputTopic,
  out: OutputTopics,
  group: string,
  extra: Record<string, string | number> = {},
): string[] {
  const settings: Record<string, string | number> = {
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
    'lifecycle.drainTimeoutMs': 5000,
    'lifecycle.shutdownTimeoutMs': 15_000,
    'batch.size': 64,
    'batch.maxWaitMs': 100,
    'http.port': 0,
    ...extra,
  };
  return [
    'run',
    '--brokers',
    testBrokers().join(','),
    '--group',
    group,
    ...Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ];
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** `node bin/prism.mjs <args>` as a child process (own JSON logs on stderr, kept for assertions). */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'prism.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, PRISM_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, stderr: () => err };
}

/** Sum over partitions of the group's committed offsets on `topic`. */
export async function committedTotal(group: string, topic: string): Promise<bigint> {
  const admin = testKafka('prism-test-offsets').admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (entry?.partitions ?? []).reduce(
      (sum, p) => sum + (BigInt(p.offset) > 0n ? BigInt(p.offset) : 0n),
      0n,
    );
  } finally {
    await admin.disconnect();
  }
}

export async function endTotal(topic: string): Promise<bigint> {
  const ends = await endOffsets(testKafka('prism-test-offsets'), topic);
  return [...ends.values()].reduce((sum, end) => sum + end, 0n);
}

/** Polls until `cond()` holds (no timing assertion: the budget only bounds a hang; helpers/wait.ts). */
export async function waitFor(
  what: string,
  cond: () => Promise<boolean>,
  budgetMs = 120_000,
  everyMs = 250,
): Promise<void> {
  await waitUntil({ what, check: async () => (await cond()) || 'condition not met', budgetMs, everyMs });
}

/**
 * Waits until the group has committed every input record (each input offset is committed). Fails
 * only when the committed count stops moving for `stallMs`, saying how far it got.
 */
export async function waitUntilConsumed(group: string, topic: string, stallMs = 180_000): Promise<void> {
  const end = await endTotal(topic);
  await waitForCount({
    what: `group ${group} to commit every record of ${topic}`,
    target: end,
    read: () => committedTotal(group, topic),
    stallMs,
  });
}

export interface OutRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly value: Buffer | null;
}

/**
 * Every record of `topics`, read_committed, by tests/integration/run-reader.cjs in a child process:
 * kafkajs 2.2.4's own read_committed leaks aborted records (see src/consumer/read-committed-fix.cjs),
 * so the audit must not use it unpatched.
 */
export async function readCommitted(...topics: string[]): Promise<OutRecord[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'tests', 'integration', 'run-reader.cjs'), testBrokers().join(','), ...topics],
    {
      maxBuffer: 512 * 1024 * 1024,
    },
  );
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const r = JSON.parse(l) as Omit<OutRecord, 'value'> & { value: string | null };
      return { ...r, value: r.value === null ? null : Buffer.from(r.value, 'base64') };
    });
}

export interface Audit {
  readonly sft: OutRecord[];
  readonly rl: OutRecord[];
  readonly dlq: OutRecord[];
  /** key → number of outputs across sft + rl + dlq. */
  readonly counts: Map<string, number>;
  readonly rlShare: number;
}

/** Reads every output topic read_committed and counts outputs per input key. */
export async function audit(out: OutputTopics): Promise<Audit> {
  const all = await readCommitted(out.sft, out.rl, out.dlq);
  const sft = all.filter((r) => r.topic === out.sft);
  const rl = all.filter((r) => r.topic === out.rl);
  const dlq = all.filter((r) => r.topic === out.dlq);
  const counts = new Map<string, number>();
  for (const r of all) counts.set(r.key ?? '<null>', (counts.get(r.key ?? '<null>') ?? 0) + 1);
  return { sft, rl, dlq, counts, rlShare: rl.length / Math.max(1, sft.length + rl.length) };
}

/** Keys with a count other than exactly one, and outputs for keys that were never input. */
export function exactlyOnceViolations(input: InputTopic, a: Audit): string[] {
  const problems: string[] = [];
  for (const k of input.keys) {
    const n = a.counts.get(k) ?? 0;
    if (n !== 1) problems.push(`${k}: ${n} outputs`);
  }
  const known = new Set(input.keys);
  for (const k of a.counts.keys()) if (!known.has(k)) problems.push(`${k}: output without input`);
  return problems;
}

const tempDirs: string[] = [];

/** A fresh temp folder, removed by removeTempDirs() (call it in afterAll). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function writeText(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** Reads a Prometheus text sample value (first series matching the name and label filter). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries(
      (m[3] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => {
          const i = kv.indexOf('=');
          return [kv.slice(0, i), kv.slice(i + 2, -1)];
        }),
    );
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/**
 * Failure context for assertion messages: per process, its warnings/errors and lane/group events
 * (the JSON log lines that explain a duplicate or a hang), last `lines` of each.
 */
export function diagnostics(processes: Record<string, RunningCli>, lines = 40): string {
  const interesting =
    /"level":(4|5|6)\d|lane opened|first batch of lane|lane closed|lane stopped|joined group|rebalancing|signal received|stopped cleanly/;
  return Object.entries(processes)
    .map(([name, p]) => {
      const picked = p
        .stderr()
        .split('\n')
        .filter((l) => interesting.test(l))
        .slice(-lines)
        .map((l) => l.slice(0, 400));
      return `--- ${name} ---\n${picked.join('\n')}`;
    })
    .join('\n');
}
