import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeadLetter } from '../../src/schemas/dead-letter.ts';
import { DecodeError } from '../../src/schemas/errors.ts';
import { startFakeRegistry, type FakeRegistry } from '../fixtures/schemas/fake-registry.ts';
import { createTestTopic, readAllCommitted, testBrokers, testKafka, uniqueName } from './helpers/kafka.ts';

const PRISM = fileURLToPath(new URL('../../bin/prism.mjs', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../fixtures/trajectories.sample.jsonl', import.meta.url));
const sampleText = readFileSync(SAMPLE, 'utf8');
const sampleLines = sampleText.trimEnd().split('\n');
const dir = mkdtempSync(join(tmpdir(), 'prism-produce-consume-'));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function prism(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PRISM, ...args],
      { timeout: 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      },
    );
  });
}

const brokers = (): string => testBrokers().join(',');
const byId = (jsonl: string): unknown[] =>
  jsonl
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string })
    .sort((a, b) => a.id.localeCompare(b.id));

let registry: FakeRegistry;
beforeAll(async () => {
  registry = await startFakeRegistry();
});
afterAll(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('prism produce → prism consume on the real broker', () => {
  it('returns the identical trajectories (Avro wire format, local registry ids)', async () => {
    const topic = await createTestTopic(uniqueName('pc-avro'));
    const produced = await prism(['produce', '--in', SAMPLE, '--topic', topic, '--brokers', brokers()]);
    expect(produced.stderr).toBe('');
    expect(produced.code).toBe(0);
    expect(produced.stdout).toBe(`produced 20 trajectories to ${topic} (avro, schema id 1)\n`);

    const out = join(dir, 'avro.jsonl');
    const consumed = await prism([
      'consume',
      '--topic',
      topic,
      '--from-beginning',
      '--max',
      '20',
      '--timeout',
      '60',
      '--out',
      out,
      '--brokers',
      brokers(),
    ]);
    expect(consumed.code).toBe(0);
    expect(consumed.stderr).toContain(`consumed 20 records from ${topic}`);
    // One partition: same order, byte-identical JSONL.
    expect(readFileSync(out, 'utf8')).toBe(sampleText);

    const raw = await readAllCommitted(topic);
    expect(raw.map((r) => r.key)).toEqual(sampleLines.map((l) => (JSON.parse(l) as { id: string }).id));
  });

  it('returns the identical trajectories across 3 partitions with JSON values, to stdout', async () => {
    const topic = await createTestTopic(uniqueName('pc-json'), { partitions: 3 });
    const produced = await prism([
      'produce',
      '--in',
      SAMPLE,
      '--topic',
      topic,
      '--format',
      'json',
      '--brokers',
      brokers(),
    ]);
    expect(produced.code).toBe(0);
    expect(produced.stdout).toContain('produced 20 trajectories');
    const consumed = await prism([
      'consume',
      '--topic',
      topic,
      '--format',
      'json',
      '--from-beginning',
      '--max',
      '20',
      '--timeout',
      '60',
      '--brokers',
      brokers(),
    ]);
    expect(consumed.code).toBe(0);
    expect(byId(consumed.stdout)).toEqual(byId(sampleText));
  });

  it('works through a Confluent-compatible Schema Registry (subject <topic>-value)', async () => {
    const topic = await createTestTopic(uniqueName('pc-registry'));
    const produced = await prism([
      'produce',
      '--in',
      SAMPLE,
      '--topic',
      topic,
      '--registry-url',
      registry.url,
      '--brokers',
      brokers(),
    ]);
    expect(produced.code).toBe(0);
    expect(registry.requests).toContain(`POST /subjects/${topic}-value/versions`);
    const consumed = await prism([
      'consume',
      '--topic',
      topic,
      '--from-beginning',
      '--max',
      '20',
      '--timeout',
      '60',
      '--registry-url',
      registry.url,
      '--brokers',
      brokers(),
    ]);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout).toBe(sampleText);
  });

  it('validates first: invalid lines are reported with line and reason, not sent, and exit 1', async () => {
    const topic = await createTestTopic(uniqueName('pc-invalid'));
    const input = join(dir, 'mixed.jsonl');
    const noAssistant = {
      ...(JSON.parse(sampleLines[0]) as object),
      id: 'bad-1',
      turns: [{ role: 'user', content: 'q' }],
    };
    writeFileSync(
      input,
      [sampleLines[0], JSON.stringify(noAssistant), '{"id": ', sampleLines[1], ''].join('\n'),
    );
    const produced = await prism(['produce', '--in', input, '--topic', topic, '--brokers', brokers()]);
    expect(produced.code).toBe(1);
    expect(produced.stderr).toContain(`${input}:2: NO_ASSISTANT_TURN`);
    expect(produced.stderr).toContain(`${input}:3: DECODE_INVALID_JSON`);
    expect(produced.stdout).toContain(`produced 2 trajectories to ${topic}`);
    expect(produced.stdout).toContain('2 invalid lines skipped');
    const raw = await readAllCommitted(topic);
    expect(raw.map((r) => r.key)).toEqual(['traj-0001', 'traj-0002']);
  });

  it('prints dead-letter records with their error headers and skips undecodable values', async () => {
    const topic = await createTestTopic(uniqueName('pc-dlq'));
    const producer = testKafka('pc-dlq').producer();
    await producer.connect();
    try {
      const original = {
        topic: 'prism.trajectories',
        partition: 1,
        offset: '41',
        key: Buffer.from('k-1'),
        value: Buffer.from([7, 7, 7]),
      };
      await producer.send({
        topic,
        messages: [
          buildDeadLetter(original, new DecodeError('DECODE_BAD_MAGIC', 'first byte is 0x07')),
          { key: 'junk', value: Buffer.from([0, 0, 0, 0, 1, 2]) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const consumed = await prism([
      'consume',
      '--topic',
      topic,
      '--from-beginning',
      '--max',
      '2',
      '--timeout',
      '60',
      '--brokers',
      brokers(),
    ]);
    expect(consumed.code).toBe(0);
    const lines = consumed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      dead_letter: {
        exception: 'DecodeError',
        code: 'DECODE_BAD_MAGIC',
        topic: 'prism.trajectories',
        partition: 1,
        offset: '41',
        message: 'first byte is 0x07',
      },
      key: 'k-1',
      value: null,
      value_error: 'DECODE_BAD_MAGIC',
      value_base64: Buffer.from([7, 7, 7]).toString('base64'),
    });
    expect(consumed.stderr).toMatch(/\[0\]@1: DECODE_TRUNCATED .*\(skipped\)/);
    expect(consumed.stderr).toContain('1 dead letters, 1 skipped');
  });
});
