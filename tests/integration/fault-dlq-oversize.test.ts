/**
 * Issue 19, fault 1: records whose dead letter (or scored output) is larger than its topic accepts.
 * The input topic takes 8 MiB records while the DLQ keeps the broker default (1,048,588 bytes) —
 * common on real clusters — and the SFT/RL topics take only 200 kB. With prism's defaults a
 * 2 MB record and a 1,048,000-byte record are RECORD_TOO_LARGE, and their dead letters (original
 * bytes + headers) do not fit the DLQ; a valid 400 kB trajectory's scored output does not fit
 * SFT/RL. Every one must be written without its payload, the partition must keep flowing behind
 * them, every input gets exactly one output, and `prism run` never exits on its own.
 */
import type { Message } from 'kafkajs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { createTestTopic, testKafka, uniqueName } from './helpers/kafka.ts';
import {
  audit,
  committedTotal,
  diagnostics,
  endTotal,
  exactlyOnceViolations,
  removeTempDirs,
  runArgs,
  startCli,
  trajectory,
  waitFor,
  type InputTopic,
} from './run-fixtures.ts';

afterAll(() => removeTempDirs());

const avro = new RecordCodec('trajectory', { registry: openLocalRegistry() });

/** 300 valid trajectories with the three oversized records spread through one partition. */
async function writeInput(): Promise<InputTopic & { big: Record<string, number> }> {
  const topic = await createTestTopic(uniqueName('oversize-in'), {
    partitions: 1,
    configs: { 'max.message.bytes': String(8 * 1024 * 1024) },
  });
  const messages: Message[] = [];
  const keys: string[] = [];
  for (let i = 0; i < 300; i += 1) {
    const id = `ov-${i}`;
    messages.push({ key: id, value: await avro.encode(trajectory(id, i)) });
    keys.push(id);
  }
  const huge = trajectory('ov-huge-output', 7);
  huge.turns[2] = { ...huge.turns[2], content: 'take mug; '.repeat(40_000) }; // ~400 kB, valid
  const big: Record<string, number> = {};
  const specials: [string, Buffer][] = [
    ['ov-2mb', Buffer.alloc(2_000_000, 0x61)],
    ['ov-1048000', Buffer.alloc(1_048_000, 0x62)],
    ['ov-huge-output', await avro.encode(huge)],
  ];
  specials.forEach(([key, value], j) => {
    big[key] = value.length;
    messages.splice(60 + j * 90, 0, { key, value });
    keys.push(key);
  });
  const producer = testKafka('prism-test-oversize').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 50)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 50) });
  } finally {
    await producer.disconnect();
  }
  return { topic, keys, poisonKeys: Object.keys(big), big };
}

describe('oversized dead letters and outputs (issue 19)', () => {
  it('are written without their payload; the partition keeps flowing and prism run never exits', async () => {
    const input = await writeInput();
    const small = { 'max.message.bytes': '200000' };
    const out = {
      sft: await createTestTopic(uniqueName('oversize-sft'), { partitions: 1, configs: small }),
      rl: await createTestTopic(uniqueName('oversize-rl'), { partitions: 1, configs: small }),
      dlq: await createTestTopic(uniqueName('oversize-dlq'), { partitions: 1 }), // broker default
    };
    const group = uniqueName('oversize-group');
    const run = startCli(
      runArgs(input, out, group, { 'arbitration.policy': 'threshold', 'arbitration.threshold': 0.5 }),
    );
    try {
      const end = await endTotal(input.topic);
      let seen = 0n;
      await waitFor(
        `every input offset committed (end ${end})`,
        async () => {
          if (run.child.exitCode !== null)
            throw new Error(`prism run exited ${run.child.exitCode}\n${run.stderr().slice(-3000)}`);
          return (seen = await committedTotal(group, input.topic)) >= end;
        },
        420_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}; committed ${seen} of ${end}\n${diagnostics({ run }, 60)}`);
      });
      expect(run.child.exitCode, 'prism run is still running').toBeNull();

      const a = await audit(out);
      expect(exactlyOnceViolations(input, a), diagnostics({ run })).toEqual([]);
      const dl = new Map(a.dlq.map((r) => [r.key, r]));
      for (const key of ['ov-2mb', 'ov-1048000']) {
        const r = dl.get(key);
        expect(r, `${key} has a dead letter`).toBeDefined();
        expect(r?.value, `${key}: payload omitted`).toBeNull();
        expect(r?.headers).toMatchObject({
          'prism.error.code': 'DEAD_LETTER_TOO_LARGE',
          'prism.error.original.code': 'RECORD_TOO_LARGE',
          'prism.error.payload': 'omitted',
          'prism.error.payload.bytes': String(input.big[key]),
          'prism.error.limit.bytes': '1048588',
          '__streams.errors.topic': input.topic,
          '__streams.errors.partition': '0',
        });
      }
      const huge = dl.get('ov-huge-output');
      expect(huge?.value).toBeNull();
      expect(huge?.headers).toMatchObject({
        'prism.error.code': 'OUTPUT_TOO_LARGE',
        'prism.error.payload': 'omitted',
        'prism.error.limit.bytes': '200000',
        '__streams.errors.topic': input.topic,
      });
      expect(['SFT', 'RL']).toContain(huge?.headers['prism.error.original.route']);
      // The original bytes still live at the offset the headers name.
      expect(Number(dl.get('ov-2mb')?.headers['__streams.errors.offset'])).toBeGreaterThanOrEqual(60);
      expect(a.sft.length + a.rl.length).toBe(300);
      expect(run.stderr()).toMatch(/the DLQ topic accepts smaller records than the input topic/);
    } finally {
      run.child.kill('SIGTERM');
      // PRISM_TEST_LOG_DIR=<dir> keeps the child's JSON log for a post-mortem.
      const keep = process.env.PRISM_TEST_LOG_DIR;
      if (keep) writeFileSync(join(keep, `oversize-run-${run.child.pid}.log`), run.stderr());
    }
    expect((await run.exited).code, diagnostics({ run })).toBe(0);
  }, 540_000);
});
