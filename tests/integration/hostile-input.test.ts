/**
 * Hostile input through `prism run`: every kind of bad record lands in the DLQ with its reason
 * code while the valid records around it are routed, and floods (many tiny garbage records,
 * maximum-size records) stay within a fixed memory bound — the child's RSS is sampled from
 * /proc/<pid>/status (a resource bound, not a timing assertion).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Message } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { createTestTopic, testKafka, uniqueName } from './helpers/kafka.ts';
import {
  audit,
  createOutputs,
  diagnostics,
  ROOT,
  exactlyOnceViolations,
  removeTempDirs,
  runArgs,
  startCli,
  tempDir,
  trajectory,
  waitUntilConsumed,
  type InputTopic,
  type RunningCli,
} from './run-fixtures.ts';

afterAll(() => removeTempDirs());

async function prism(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'bin', 'prism.mjs'), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
      },
    );
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

const avro = new RecordCodec('trajectory', { registry: openLocalRegistry() });

async function writeMessages(prefix: string, messages: Message[], perSend = 500): Promise<string> {
  const topic = await createTestTopic(uniqueName(prefix), { partitions: 1 });
  const producer = testKafka('prism-test-hostile').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += perSend)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + perSend) });
  } finally {
    await producer.disconnect();
  }
  return topic;
}

/** Peak VmRSS (MiB) of `pid`, sampled every 100 ms until stop(). */
function sampleRss(pid: number): { stop: () => number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      /* exited */
    }
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.round(peak);
    },
  };
}

async function runToEnd(
  input: InputTopic,
  args: string[],
  budgetMs = 180_000,
): Promise<{ cli: RunningCli; peakMiB: number }> {
  const group = args[args.indexOf('--group') + 1];
  const cli = startCli(args);
  const rss = sampleRss(cli.child.pid ?? 0);
  try {
    await waitUntilConsumed(group, input.topic, budgetMs);
  } finally {
    cli.child.kill('SIGTERM');
  }
  const exit = await cli.exited;
  const peakMiB = rss.stop();
  expect(exit.code, diagnostics({ cli })).toBe(0);
  return { cli, peakMiB };
}

/** Measurements go to the test report (annotate) and to stderr (plain runs). */
async function note(annotate: (message: string) => Promise<unknown>, message: string): Promise<void> {
  process.stderr.write(`[hostile-input] ${message}\n`);
  await annotate(message);
}

function dlqCodes(a: Awaited<ReturnType<typeof audit>>): Map<string, string> {
  return new Map(a.dlq.map((r) => [r.key ?? '<null>', r.headers['prism.error.code'] ?? '']));
}

describe('hostile input through prism run', () => {
  it('dead-letters each hostile Avro record with its reason code and routes the valid ones around it (tiny PRISM model)', async ({
    annotate,
  }) => {
    const modelDir = join(tempDir('prism-hostile-model-'), 'tiny');
    const init = await prism(['model', 'init', '--preset', 'tiny', '--out', modelDir]);
    expect(init.code, init.stderr).toBe(0);
    const vocab = (JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as { vocab_size: number })
      .vocab_size;

    const valid = (i: number): Trajectory => trajectory(`ok-${i}`, i);
    const good = await avro.encode(valid(0));
    const withUtf8Hole = Buffer.from(await avro.encode({ ...valid(1), id: 'bad-utf8', task_id: 'XXXX' }));
    withUtf8Hole.set([0xff, 0xfe, 0xc3, 0x28], withUtf8Hole.indexOf('XXXX'));
    const badId = Buffer.from(good);
    badId.writeUInt32BE(0x7fff_fff0, 1);
    const hostile: { key: string; value: Buffer | null; code: string }[] = [
      { key: 'oversized', value: Buffer.alloc(150_000, 1), code: 'RECORD_TOO_LARGE' },
      { key: 'wrong-schema-id', value: badId, code: 'DECODE_UNKNOWN_SCHEMA_ID' },
      {
        key: 'truncated-avro',
        value: good.subarray(0, Math.floor(good.length / 2)),
        code: 'DECODE_TRUNCATED',
      },
      { key: 'json-on-avro', value: Buffer.from('{"id":' + '['.repeat(5000)), code: 'DECODE_BAD_MAGIC' },
      {
        key: 'nan-reward',
        value: await avro.encode({ ...valid(2), id: 'nan-reward', reward: NaN }),
        code: 'REWARD_NOT_FINITE',
      },
      {
        key: 'inf-reward',
        value: await avro.encode({ ...valid(3), id: 'inf-reward', reward: Infinity }),
        code: 'REWARD_NOT_FINITE',
      },
      {
        key: 'out-of-vocab',
        value: await avro.encode({
          ...valid(4),
          id: 'out-of-vocab',
          turns: [
            { role: 'user', content: 'hi', token_ids: [1, 2, 3], logprobs: null },
            { role: 'assistant', content: 'x', token_ids: [4, vocab + 7, 5], logprobs: null },
          ],
        }),
        code: 'TOKEN_OUT_OF_VOCAB',
      },
      {
        key: 'empty-turns',
        value: await avro.encode({ ...valid(5), id: 'empty-turns', turns: [] }),
        code: 'NO_ASSISTANT_TURN',
      },
      { key: 'bad-utf8', value: withUtf8Hole, code: 'INVALID_UTF8' },
      { key: 'empty', value: null, code: 'DECODE_EMPTY' },
      {
        // Text only (no token_ids): over input.limits.maxTokens once the scorer tokenizes it.
        key: 'text-too-many-tokens',
        value: await avro.encode({
          ...valid(6),
          id: 'text-too-many-tokens',
          turns: [
            { role: 'user', content: 'hi', token_ids: null, logprobs: null },
            { role: 'assistant', content: 'x'.repeat(5000), token_ids: null, logprobs: null },
          ],
        }),
        code: 'TOO_MANY_TOKENS',
      },
    ];
    const messages: Message[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 30; i++) {
      messages.push({ key: `ok-${i}`, value: await avro.encode(valid(i)) });
      keys.push(`ok-${i}`);
      const h = hostile[i % 3 === 0 ? i / 3 : -1];
      if (h) {
        messages.push({ key: h.key, value: h.value });
        keys.push(h.key);
      }
    }
    // Hostile kinds beyond the ten interleaved slots go at the end.
    for (const h of hostile.slice(10)) {
      messages.push({ key: h.key, value: h.value });
      keys.push(h.key);
    }
    const topic = await writeMessages('hostile-in', messages);
    const input: InputTopic = { topic, keys, poisonKeys: hostile.map((h) => h.key) };
    const out = await createOutputs('hostile');
    const group = uniqueName('hostile-group');
    const args = [
      ...runArgs(input, out, group, {
        'scorer.kind': 'prism',
        'scorer.backend': 'cpu',
        'scorer.maxSeqLen': 128,
        'scorer.batchSize': 8,
        'arbitration.policy': 'threshold',
        'arbitration.threshold': 0.5,
        'input.limits.maxBytes': 100_000,
        // The valid records tokenize to about 130 tokens; text-too-many-tokens to about 5,000.
        'input.limits.maxTokens': 2_000,
        'batch.size': 12,
        'batch.maxWaitMs': 200,
      }),
      '--model',
      modelDir,
    ];
    const { cli, peakMiB } = await runToEnd(input, args, 240_000);
    const a = await audit(out);
    expect(exactlyOnceViolations(input, a), diagnostics({ cli })).toEqual([]);
    const codes = dlqCodes(a);
    expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(hostile.map((h) => [h.key, h.code])));
    expect(a.sft.length + a.rl.length).toBe(30);
    await note(
      annotate,
      `${hostile.length} hostile kinds dead-lettered, 30 valid routed; peak RSS ${peakMiB} MiB`,
    );
  }, 300_000);

  it('dead-letters hostile JSON (deep nesting, huge, NaN literal, invalid UTF-8) on a JSON topic', async () => {
    const json = (t: Trajectory) => Buffer.from(JSON.stringify(t));
    const hostile = [
      {
        key: 'deep',
        value: Buffer.from(`{"id":"deep","metadata":${'['.repeat(200_000)}`),
        code: 'DECODE_TOO_DEEP',
      },
      {
        key: 'huge',
        value: Buffer.from(`{"id":"huge","pad":"${'x'.repeat(300_000)}"}`),
        code: 'RECORD_TOO_LARGE',
      },
      {
        key: 'nan-literal',
        value: Buffer.from('{"id":"nan-literal","reward":NaN}'),
        code: 'DECODE_INVALID_JSON',
      },
      { key: 'bad-utf8', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), code: 'INVALID_UTF8' },
    ];
    const messages: Message[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 12; i++) {
      messages.push({ key: `ok-${i}`, value: json(trajectory(`ok-${i}`, i)) });
      keys.push(`ok-${i}`);
      const h = hostile[i % 3 === 0 ? i / 3 : -1];
      if (h) {
        messages.push({ key: h.key, value: h.value });
        keys.push(h.key);
      }
    }
    const topic = await writeMessages('hostile-json-in', messages);
    const input: InputTopic = { topic, keys, poisonKeys: hostile.map((h) => h.key) };
    const out = await createOutputs('hostile-json');
    const group = uniqueName('hostile-json-group');
    const { cli } = await runToEnd(
      input,
      runArgs(input, out, group, {
        'input.format': 'json',
        'input.limits.maxBytes': 250_000,
        'arbitration.policy': 'threshold',
        'arbitration.threshold': 0.5,
      }),
    );
    const a = await audit(out);
    expect(exactlyOnceViolations(input, a), diagnostics({ cli })).toEqual([]);
    expect(Object.fromEntries(dlqCodes(a))).toEqual(Object.fromEntries(hostile.map((h) => [h.key, h.code])));
  }, 180_000);

  it('a flood of tiny garbage records stays under a fixed memory cap, every one dead-lettered once', async ({
    annotate,
  }) => {
    const n = 100_000;
    const messages: Message[] = Array.from({ length: n }, (_, i) => ({
      key: `g${i}`,
      value: Buffer.from([i & 0xff]),
    }));
    const topic = await writeMessages('flood-in', messages, 10_000);
    const input: InputTopic = { topic, keys: messages.map((m) => String(m.key)), poisonKeys: [] };
    const out = await createOutputs('flood');
    const group = uniqueName('flood-group');
    const { peakMiB } = await runToEnd(
      input,
      runArgs(input, out, group, {
        'batch.size': 1000,
        'batch.maxWaitMs': 50,
        'consumer.highWatermark': 4000,
        'consumer.lowWatermark': 2000,
        'arbitration.policy': 'threshold',
        'arbitration.threshold': 0.5,
      }),
    );
    const a = await audit(out);
    expect(a.dlq.length).toBe(n);
    expect(new Set(a.dlq.map((r) => r.key)).size).toBe(n);
    // A fixed, generous bound: the process (node + tfjs + kafkajs) idles near 200 MiB.
    expect(peakMiB).toBeLessThan(600);
    await note(annotate, `${n} tiny garbage records → DLQ; peak RSS ${peakMiB} MiB`);
    // Bounds a hang only: waitUntilConsumed fails when the committed count stalls (loaded machines).
  }, 900_000);

  it('a flood of maximum-size records stays bounded by consumer.maxInFlightBytes (peak RSS reported)', async ({
    annotate,
  }) => {
    const maxBytes = 1_000_000;
    const base = await avro.encode(trajectory('big-0', 0));
    const pad = 'p'.repeat(maxBytes - base.length - 64);
    const messages: Message[] = [];
    for (let i = 0; i < 120; i++) {
      const t = trajectory(`big-${i}`, i);
      t.metadata = { ...t.metadata, pad };
      messages.push({ key: `big-${i}`, value: await avro.encode(t) });
    }
    expect(messages.every((m) => (m.value as Buffer).length <= maxBytes)).toBe(true);
    const topic = await writeMessages('maxsize-in', messages, 1);
    const input: InputTopic = { topic, keys: messages.map((m) => String(m.key)), poisonKeys: [] };
    const out = await createOutputs('maxsize');
    const group = uniqueName('maxsize-group');
    const { peakMiB, cli } = await runToEnd(
      input,
      runArgs(input, out, group, {
        'consumer.maxInFlightBytes': 16 * 1024 * 1024,
        'arbitration.policy': 'threshold',
        'arbitration.threshold': 0.5,
        'batch.size': 8,
      }),
    );
    const a = await audit(out);
    expect(exactlyOnceViolations(input, a), diagnostics({ cli })).toEqual([]);
    expect(peakMiB).toBeLessThan(1024);
    await note(annotate, `120 records of ~1 MB, maxInFlightBytes 16 MiB: peak RSS ${peakMiB} MiB`);
  }, 240_000);
});
