import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalSchema, parseSchema } from '../../src/schemas/catalog.ts';
import { loadSourceTypes } from '../../src/schema-store/sources.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { LocalSchemaRegistry, type RegistryFile } from '../../src/schemas/local-registry.ts';
import type { Trajectory } from '../../src/schemas/types.ts';

const fixture = (name: string) =>
  parseSchema(readFileSync(join(import.meta.dirname, '../fixtures/schemas', name), 'utf8'));
const v1 = loadSourceTypes().trajectory;
const v2 = fixture('trajectory-v2.avsc');
const incompatible = fixture('trajectory-incompatible.avsc');

const entry = (id: number, version: number, type: typeof v1) => ({
  id,
  subject: 'ai.prism.Trajectory',
  version,
  schema: JSON.parse(canonicalSchema(type)) as Record<string, unknown>,
});
const file: RegistryFile = {
  format: 1,
  entries: [entry(1, 1, v1), entry(2, 2, v2), entry(3, 3, incompatible)],
};
const registry = new LocalSchemaRegistry(file, 'test');

const t: Trajectory = {
  id: 'e-1',
  task_id: 'task',
  env: null,
  turns: [{ role: 'assistant', content: 'ok', token_ids: [3], logprobs: [-0.5] }],
  reward: 0.5,
  metadata: { k: 'v' },
  created_at: 1_767_225_600_000,
  behavior_model_version: 'p1',
};

describe('schema evolution through the registry', () => {
  const v1Codec = new RecordCodec('trajectory', { registry, readers: { trajectory: v1 } });
  const v2Codec = new RecordCodec('trajectory', { registry, readers: { trajectory: v2 } });

  it('a v2 reader reads v1 records, filling the new field with its default', async () => {
    const bytes = await v1Codec.encode(t);
    expect(bytes.readInt32BE(1)).toBe(1);
    expect(structuredClone(await v2Codec.decode(bytes))).toEqual({ ...t, session_id: null });
  });

  it('a v1 reader reads v2 records, skipping the field it does not know', async () => {
    const bytes = await v2Codec.encode({ ...t, session_id: 's-42' } as Trajectory);
    expect(bytes.readInt32BE(1)).toBe(2);
    expect(structuredClone(await v1Codec.decode(bytes))).toEqual(t);
  });

  it('a reader whose new field has no default rejects old records with SCHEMA_INCOMPATIBLE', async () => {
    const strict = new RecordCodec('trajectory', { registry, readers: { trajectory: incompatible } });
    await expect(strict.decode(await v1Codec.encode(t))).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
    });
  });
});
