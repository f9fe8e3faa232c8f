import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_FULLNAMES, SCHEMA_KINDS, canonicalSchema, parseSchema } from '../../src/schemas/catalog.ts';
import { readerTypes } from '../../src/schemas/bundled.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { SchemaRegistryError } from '../../src/schemas/errors.ts';
import { HttpSchemaRegistry } from '../../src/schema-store/http-registry.ts';
import {
  buildRegistryFile,
  latestSchemas,
  parseRegistryFile,
  serializeRegistryFile,
} from '../../src/schemas/local-registry.ts';
import {
  defaultRegistryPath,
  openLocalRegistry,
  readRegistryFile,
} from '../../src/schema-store/registry-file.ts';
import { loadSourceTypes } from '../../src/schema-store/sources.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { startFakeRegistry, type FakeRegistry } from '../fixtures/schemas/fake-registry.ts';

const t: Trajectory = {
  id: 'r-1',
  task_id: 'task',
  env: 'math',
  turns: [{ role: 'assistant', content: 'a', token_ids: null, logprobs: null }],
  reward: null,
  metadata: {},
  created_at: 5,
  behavior_model_version: null,
};

describe('schemas/registry.json', () => {
  it('is up to date with schemas/*.avsc (run `prism schemas build` after editing a schema)', () => {
    const path = defaultRegistryPath();
    const rebuilt = serializeRegistryFile(buildRegistryFile(readRegistryFile(path), loadSourceTypes()));
    expect(rebuilt).toBe(readFileSync(path, 'utf8'));
  });

  it('is rebuilt byte for byte from scratch (deterministic ids 1..3)', () => {
    const fresh = buildRegistryFile(undefined, loadSourceTypes());
    expect(fresh.entries.map((e) => [e.id, e.subject])).toEqual([
      [1, 'ai.prism.Trajectory'],
      [2, 'ai.prism.ScoredTrajectory'],
      [3, 'ai.prism.ModelUpdate'],
    ]);
    expect(serializeRegistryFile(fresh)).toBe(readFileSync(defaultRegistryPath(), 'utf8'));
  });

  it('appends a new version with the next id when a schema changes, keeping old ids', () => {
    const v2 = parseSchema(
      readFileSync(join(import.meta.dirname, '../fixtures/schemas/trajectory-v2.avsc'), 'utf8'),
    );
    const before = readRegistryFile(defaultRegistryPath());
    const after = buildRegistryFile(before, { ...loadSourceTypes(), trajectory: v2 });
    expect(after.entries.slice(0, before.entries.length)).toEqual(before.entries);
    expect(after.entries.at(-1)).toMatchObject({ id: 4, subject: 'ai.prism.Trajectory', version: 2 });
  });

  it('gives the codecs reader schemas identical to schemas/*.avsc (the latest registered versions)', () => {
    const sources = loadSourceTypes();
    const readers = readerTypes();
    for (const kind of SCHEMA_KINDS) {
      expect(canonicalSchema(readers[kind])).toBe(canonicalSchema(sources[kind]));
      expect(readers[kind].fingerprint().equals(sources[kind].fingerprint())).toBe(true);
    }
  });

  it('takes the last appended version of each subject as its latest schema', () => {
    const v2 = parseSchema(
      readFileSync(join(import.meta.dirname, '../fixtures/schemas/trajectory-v2.avsc'), 'utf8'),
    );
    const after = buildRegistryFile(readRegistryFile(defaultRegistryPath()), {
      ...loadSourceTypes(),
      trajectory: v2,
    });
    const latest = latestSchemas(after);
    expect(JSON.stringify(latest.trajectory)).toBe(canonicalSchema(v2));
    expect(JSON.stringify(latest['model-update'])).toBe(canonicalSchema(loadSourceTypes()['model-update']));
    expect(latestSchemas({ format: 1, entries: [] })).toEqual({});
  });

  it('inlines the referenced Trajectory so each entry is self-contained', () => {
    const file = readRegistryFile(defaultRegistryPath());
    const scored = file.entries.find((e) => e.subject === SCHEMA_FULLNAMES['scored-trajectory']);
    expect(JSON.stringify(scored?.schema)).toContain('"name":"ai.prism.Turn"');
    expect(JSON.stringify(scored?.schema)).toContain('"logicalType":"timestamp-millis"');
  });

  it('rejects malformed registry files with REGISTRY_FILE_INVALID', () => {
    expect(() => parseRegistryFile('{"format":1,"entries":[{"id":0}]}')).toThrow(SchemaRegistryError);
    expect(() => parseRegistryFile('nope')).toThrow(/not JSON/);
  });

  it('fails encoding with REGISTRY_FILE_STALE when the schema is not registered', async () => {
    const v2 = parseSchema(
      readFileSync(join(import.meta.dirname, '../fixtures/schemas/trajectory-v2.avsc'), 'utf8'),
    );
    const codec = new RecordCodec('trajectory', {
      registry: openLocalRegistry(),
      readers: { trajectory: v2 },
    });
    await expect(codec.encode(t)).rejects.toMatchObject({ code: 'REGISTRY_FILE_STALE' });
  });
});

describe('HTTP schema registry (Confluent API, fake server on 127.0.0.1)', () => {
  let fake: FakeRegistry;
  beforeAll(async () => {
    fake = await startFakeRegistry();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('registers under <topic>-value on first encode, then serves ids from cache', async () => {
    const registry = new HttpSchemaRegistry({ url: fake.url });
    const codec = new RecordCodec('trajectory', { registry, topic: 'prism.trajectories' });
    const a = await codec.encode(t);
    const b = await codec.encode({ ...t, id: 'r-2' });
    expect(a.readInt32BE(1)).toBe(b.readInt32BE(1));
    expect(fake.requests.filter((r) => r.startsWith('POST'))).toEqual([
      'POST /subjects/prism.trajectories-value/versions',
    ]);
    const subjects = await registry.list();
    expect(subjects).toMatchObject([
      { subject: 'prism.trajectories-value', version: 1, id: a.readInt32BE(1) },
    ]);
  });

  it('fetches writer schemas by id once and decodes with them', async () => {
    const id = fake.register('other-value', canonicalSchema(readerTypes().trajectory));
    const writer = new RecordCodec('trajectory', {
      registry: new HttpSchemaRegistry({ url: fake.url }),
      topic: 'other',
    });
    const bytes = await writer.encode(t);
    expect(bytes.readInt32BE(1)).toBe(id);
    const registry = new HttpSchemaRegistry({ url: fake.url });
    const reader = new RecordCodec('trajectory', { registry });
    const before = fake.requests.length;
    await Promise.all([reader.decode(bytes), reader.decode(bytes), reader.decode(bytes)]);
    expect(structuredClone(await reader.decode(bytes))).toEqual(t);
    expect(fake.requests.slice(before)).toEqual([`GET /schemas/ids/${id}`]);
  });

  it('maps an unknown id to DECODE_UNKNOWN_SCHEMA_ID (a record problem)', async () => {
    const reader = new RecordCodec('trajectory', { registry: new HttpSchemaRegistry({ url: fake.url }) });
    const bytes = Buffer.from([0, 0, 0, 0x30, 0x39, 2, 0x61]);
    await expect(reader.decode(bytes)).rejects.toMatchObject({ code: 'DECODE_UNKNOWN_SCHEMA_ID' });
  });

  it('without autoRegister, fails with REGISTRY_SCHEMA_NOT_REGISTERED for an unknown subject', async () => {
    const codec = new RecordCodec('trajectory', {
      registry: new HttpSchemaRegistry({ url: fake.url, autoRegister: false }),
      topic: 'never-registered',
    });
    await expect(codec.encode(t)).rejects.toMatchObject({ code: 'REGISTRY_SCHEMA_NOT_REGISTERED' });
  });

  it('without autoRegister, looks up an already registered schema', async () => {
    const id = fake.register('looked-up-value', canonicalSchema(readerTypes().trajectory));
    const codec = new RecordCodec('trajectory', {
      registry: new HttpSchemaRegistry({ url: fake.url, autoRegister: false }),
      topic: 'looked-up',
    });
    expect((await codec.encode(t)).readInt32BE(1)).toBe(id);
  });

  it('reports an unreachable registry as REGISTRY_UNREACHABLE (infrastructure, not a record error)', async () => {
    const closed = await startFakeRegistry();
    await closed.close();
    const codec = new RecordCodec('trajectory', {
      registry: new HttpSchemaRegistry({ url: closed.url, timeoutMs: 2000 }),
    });
    await expect(codec.decode(Buffer.from([0, 0, 0, 0, 1, 0]))).rejects.toMatchObject({
      code: 'REGISTRY_UNREACHABLE',
    });
  });
});
