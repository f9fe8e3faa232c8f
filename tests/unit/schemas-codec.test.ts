import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordCodec, AnyRecordDecoder } from '../../src/schemas/codec.ts';
import { DecodeError, RecordError } from '../../src/schemas/errors.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { readSchemaId } from '../../src/schemas/wire.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { modelUpdateArb, scoredTrajectoryArb, trajectoryArb } from '../fixtures/schemas/arbitraries.ts';

const registry = openLocalRegistry();
const plain = <T>(v: T): T => structuredClone(v);

const sample: Trajectory = {
  id: 't-1',
  task_id: 'task-1',
  env: null,
  turns: [
    { role: 'user', content: 'hi', token_ids: null, logprobs: null },
    { role: 'assistant', content: 'hello', token_ids: [5, 6], logprobs: [-0.5, -0.25] },
  ],
  reward: 0.1,
  metadata: { a: 'b' },
  created_at: 1_767_225_600_000,
  behavior_model_version: 'v1',
};

describe('Avro wire codec', () => {
  it('frames values as magic 0 + big-endian schema id from registry.json', async () => {
    const bytes = await new RecordCodec('trajectory', { registry }).encode(sample);
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 0, 1]);
    expect(readSchemaId(bytes)).toBe(1);
  });

  it('round-trips any Trajectory exactly (NaN, -0, Infinity included)', async () => {
    const codec = new RecordCodec('trajectory', { registry });
    await fc.assert(
      fc.asyncProperty(trajectoryArb(), async (t) => {
        expect(plain(await codec.decode(await codec.encode(t)))).toEqual(t);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any ScoredTrajectory and ModelUpdate', async () => {
    const scored = new RecordCodec('scored-trajectory', { registry });
    const updates = new RecordCodec('model-update', { registry });
    await fc.assert(
      fc.asyncProperty(scoredTrajectoryArb(), modelUpdateArb(), async (s, m) => {
        expect(plain(await scored.decode(await scored.encode(s)))).toEqual(s);
        expect(plain(await updates.decode(await updates.encode(m)))).toEqual(m);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps 64-bit offsets exact as strings', async () => {
    const codec = new RecordCodec('scored-trajectory', { registry });
    const [s] = fc.sample(scoredTrajectoryArb(), { numRuns: 1, seed: 7 });
    s.prism.source_offset = '9223372036854775807';
    expect((await codec.decode(await codec.encode(s))).prism.source_offset).toBe('9223372036854775807');
  });

  it('decodes any prism record kind by its writer schema name', async () => {
    const any = new AnyRecordDecoder({ registry });
    const [m] = fc.sample(modelUpdateArb(), { numRuns: 1, seed: 3 });
    const bytes = await new RecordCodec('model-update', { registry }).encode(m);
    const decoded = await any.decode(bytes);
    expect(decoded.kind).toBe('model-update');
    expect(decoded.schemaId).toBe(3);
    expect(plain(decoded.value)).toEqual(m);
  });

  it('refuses to encode a value that breaks the schema, naming the field', async () => {
    const codec = new RecordCodec('trajectory', { registry });
    const bad = { ...sample, turns: [{ ...sample.turns[0], role: 'developer' }] } as unknown as Trajectory;
    await expect(codec.encode(bad)).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH', path: 'turns[0].role' });
  });

  it('rejects values above maxBytes before decoding', async () => {
    const codec = new RecordCodec('trajectory', { registry, maxBytes: 10 });
    const bytes = await new RecordCodec('trajectory', { registry }).encode(sample);
    await expect(codec.decode(bytes)).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
  });

  it('treats a null (tombstone) value as DECODE_EMPTY', async () => {
    await expect(new RecordCodec('trajectory', { registry }).decode(null)).rejects.toBeInstanceOf(
      DecodeError,
    );
  });
});

describe('JSON codec', () => {
  const codec = new RecordCodec('trajectory', { format: 'json' });

  it('round-trips any JSON-representable Trajectory', async () => {
    await fc.assert(
      fc.asyncProperty(trajectoryArb({ json: true }), async (t) => {
        expect(plain(await codec.decode(await codec.encode(t)))).toEqual(t);
      }),
      { numRuns: 300 },
    );
  });

  it('fills defaults for omitted optional fields, drops unknown fields and accepts ISO timestamps', async () => {
    const t = await codec.decode(
      Buffer.from(
        '{"id":"x","task_id":"t","turns":[{"role":"assistant","content":"c"}],"created_at":"2026-01-01T00:00:00Z","future":1}',
      ),
    );
    expect(plain(t)).toEqual({
      id: 'x',
      task_id: 't',
      env: null,
      turns: [{ role: 'assistant', content: 'c', token_ids: null, logprobs: null }],
      reward: null,
      metadata: {},
      created_at: Date.UTC(2026, 0, 1),
      behavior_model_version: null,
    });
  });

  it('reports the exact path of a schema violation', async () => {
    const bytes = Buffer.from(
      JSON.stringify({ ...sample, turns: [{ ...sample.turns[1], token_ids: [1, 'x'] }] }),
    );
    const err = await codec.decode(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordError);
    expect(err).toMatchObject({ code: 'SCHEMA_MISMATCH', path: 'turns[0].token_ids[1]' });
    expect((err as Error).message).toContain('turns[0].token_ids[1]');
  });

  it('refuses to encode NaN rather than writing null', async () => {
    await expect(codec.encode({ ...sample, reward: Number.NaN })).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
    });
  });
});
