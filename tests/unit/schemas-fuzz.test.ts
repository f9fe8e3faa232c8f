import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { RecordError } from '../../src/schemas/errors.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { DEFAULT_LIMITS } from '../../src/config/input.ts';
import { validateTrajectory } from '../../src/schemas/validate.ts';
import { frame } from '../../src/schemas/wire.ts';
import { trajectoryArb } from '../fixtures/schemas/arbitraries.ts';

const registry = openLocalRegistry();
const avroCodec = new RecordCodec('trajectory', { registry, maxBytes: 1 << 20 });
const jsonCodec = new RecordCodec('trajectory', { format: 'json', maxBytes: 1 << 20 });

/** Decode + validate; returns the typed error, or null when the bytes happened to be a valid record. */
async function outcome(codec: RecordCodec<'trajectory'>, bytes: Buffer): Promise<RecordError | null> {
  try {
    validateTrajectory(await codec.decode(bytes), DEFAULT_LIMITS);
    return null;
  } catch (err) {
    if (err instanceof RecordError) return err;
    throw err; // anything else (TypeError, RangeError, avsc Error) fails the property
  }
}

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'set'; at: number; byte: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 12 }),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x7f, 0x80, 0xff, 0x01, 0x00),
  }),
);

function mutate(buf: Buffer, muts: Mutation[], keepHeader: boolean): Buffer {
  let b = Buffer.from(buf);
  const lo = keepHeader ? 5 : 0;
  for (const m of muts) {
    if (b.length <= lo) break;
    const at = lo + (m.at % (b.length - lo));
    if (m.kind === 'flip') b[at] ^= m.xor;
    else if (m.kind === 'set') b[at] = m.byte;
    else if (m.kind === 'cut') b = b.subarray(0, at);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
  }
  return b;
}

describe('decoder fuzzing', () => {
  it('only raises RecordErrors on random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        await outcome(avroCodec, Buffer.from(bytes));
        await outcome(jsonCodec, Buffer.from(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  it('only raises RecordErrors on random bodies behind a valid header', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 2, 3), fc.uint8Array({ maxLength: 300 }), async (id, body) => {
        const err = await outcome(avroCodec, frame(id, body));
        if (id !== 1) expect(err?.code).toBe('SCHEMA_MISMATCH');
      }),
      { numRuns: 1000 },
    );
  });

  it('only raises RecordErrors on corrupted valid encodings (flips, cuts, inserts, huge length prefixes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        trajectoryArb(),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (t, muts, keepHeader) => {
          const good = await avroCodec.encode(t);
          await outcome(avroCodec, mutate(good, muts, keepHeader));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('only raises RecordErrors on corrupted JSON documents', async () => {
    await fc.assert(
      fc.asyncProperty(
        trajectoryArb({ json: true }),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        async (t, muts) => {
          const good = await jsonCodec.encode(t);
          await outcome(jsonCodec, mutate(good, muts, false));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('rejects a 2^50-item array prefix as truncated instead of looping', async () => {
    // id "a", task_id "b", env null, then a turns block claiming 2^50 items (zig-zag varint).
    const count = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x04]);
    const body = Buffer.concat([Buffer.from([2, 0x61, 2, 0x62, 0]), count]);
    await expect(avroCodec.decode(frame(1, body))).rejects.toMatchObject({
      code: 'DECODE_TRUNCATED',
      path: 'turns',
    });
  });
});
