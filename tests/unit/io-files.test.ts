import avro from 'avsc';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IoError } from '../../src/io/errors.ts';
import { createRecordFileWriter, fileFormatOf, readRecordFile, type ReadResult } from '../../src/io/files.ts';
import type { RecordOf, SchemaKind } from '../../src/schemas/catalog.ts';
import { readerTypes } from '../../src/schemas/bundled.ts';
import { RecordError } from '../../src/schemas/errors.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { DEFAULT_LIMITS } from '../../src/config/input.ts';
import { validateTrajectory } from '../../src/schemas/validate.ts';
import { modelUpdateArb, scoredTrajectoryArb, trajectoryArb } from '../fixtures/schemas/arbitraries.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-io-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (ext: string) => join(dir, `f${n++}${ext}`);
const SAMPLE = join(import.meta.dirname, '../fixtures/trajectories.sample.jsonl');

async function collect<T>(it: AsyncIterable<ReadResult<T>>): Promise<ReadResult<T>[]> {
  const out: ReadResult<T>[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function writeAll<K extends SchemaKind>(path: string, kind: K, values: RecordOf[K][]): Promise<void> {
  const w = createRecordFileWriter(path, kind);
  for (const v of values) await w.write(v);
  await w.close();
}

async function readValues<K extends SchemaKind>(path: string, kind: K): Promise<RecordOf[K][]> {
  const rs = await collect(readRecordFile(path, kind));
  return rs.map((r) => {
    if (!r.ok) throw r.error;
    return structuredClone(r.value);
  });
}

describe('file formats by extension', () => {
  it('maps .jsonl/.ndjson/- to JSONL and .avro to Avro, anything else is an error', () => {
    expect(fileFormatOf('a.jsonl')).toBe('jsonl');
    expect(fileFormatOf('a.NDJSON')).toBe('jsonl');
    expect(fileFormatOf('-')).toBe('jsonl');
    expect(fileFormatOf('x/a.avro')).toBe('avro');
    expect(() => fileFormatOf('a.json')).toThrow(IoError);
  });
});

describe('Avro container files', () => {
  it('round-trip any records of every kind (NaN and -0 included)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(trajectoryArb(), { maxLength: 8 }),
        fc.array(scoredTrajectoryArb(), { maxLength: 4 }),
        fc.array(modelUpdateArb(), { maxLength: 4 }),
        async (ts, ss, ms) => {
          const [a, b, c] = [tmp('.avro'), tmp('.avro'), tmp('.avro')];
          await writeAll(a, 'trajectory', ts);
          await writeAll(b, 'scored-trajectory', ss);
          await writeAll(c, 'model-update', ms);
          expect(await readValues(a, 'trajectory')).toEqual(ts);
          expect(await readValues(b, 'scored-trajectory')).toEqual(ss);
          expect(await readValues(c, 'model-update')).toEqual(ms);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('are readable by avsc’s own decoder (standard container format, deflate)', async () => {
    const path = tmp('.avro');
    // avsc's built-in long corrupts |values| > 2^52 (our EXACT_LONG does not): keep timestamps realistic here.
    const values = fc
      .sample(trajectoryArb({ json: true }), { numRuns: 50, seed: 11 })
      .map((t) => ({ ...t, created_at: Math.abs(t.created_at) % 4e12 }));
    await writeAll(path, 'trajectory', values);
    const got: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      avro
        .createFileDecoder(path, { readerSchema: readerTypes().trajectory })
        .on('data', (v: unknown) => got.push(structuredClone(v)))
        .on('end', resolve)
        .on('error', reject);
    });
    expect(got).toEqual(values);
  });

  it('are written deterministically (same records, same bytes)', async () => {
    const values = fc.sample(trajectoryArb(), { numRuns: 30, seed: 5 });
    const [a, b] = [tmp('.avro'), tmp('.avro')];
    await writeAll(a, 'trajectory', values);
    await writeAll(b, 'trajectory', values);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('reject damaged files with typed errors only, never hanging', async () => {
    const path = tmp('.avro');
    await writeAll(path, 'trajectory', fc.sample(trajectoryArb(), { numRuns: 20, seed: 9 }));
    const good = readFileSync(path);
    const damaged = tmp('.avro');
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.option(fc.nat(), { nil: undefined }),
        async (at, xor, cut) => {
          const b = Buffer.from(good);
          b[at % b.length] ^= xor;
          writeFileSync(damaged, cut === undefined ? b : b.subarray(0, cut % b.length));
          try {
            await readValues(damaged, 'trajectory');
          } catch (err) {
            expect(err instanceof IoError || err instanceof RecordError).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuse a file of another record kind with SCHEMA_MISMATCH', async () => {
    const path = tmp('.avro');
    await writeAll(path, 'model-update', fc.sample(modelUpdateArb(), { numRuns: 2, seed: 1 }));
    await expect(readValues(path, 'trajectory')).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' });
  });
});

describe('JSONL files', () => {
  it('round-trip any JSON-representable records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(trajectoryArb({ json: true }), { maxLength: 8 }), async (ts) => {
        const path = tmp('.jsonl');
        await writeAll(path, 'trajectory', ts);
        expect(await readValues(path, 'trajectory')).toEqual(ts);
      }),
      { numRuns: 40 },
    );
  });

  it('report bad lines with their 1-based line numbers and keep reading; skip blank lines; accept CRLF', async () => {
    const good = readFileSync(SAMPLE, 'utf8').split('\n')[0];
    const path = tmp('.jsonl');
    writeFileSync(
      path,
      Buffer.concat([
        Buffer.from(`${good}\r\n\n   \n{"id":\n`),
        Buffer.from([0x7b, 0xff, 0x7d, 0x0a]),
        Buffer.from(`${JSON.stringify({ ...JSON.parse(good), reward: 'x' })}\n${good}`),
      ]),
    );
    const rs = await collect(readRecordFile(path, 'trajectory'));
    expect(rs.map((r) => [r.position, r.ok ? 'ok' : r.error.code])).toEqual([
      [1, 'ok'],
      [4, 'DECODE_INVALID_JSON'],
      [5, 'INVALID_UTF8'],
      [6, 'SCHEMA_MISMATCH'],
      [7, 'ok'],
    ]);
  });

  it('reject an over-long line as RECORD_TOO_LARGE without parsing it', async () => {
    const path = tmp('.jsonl');
    writeFileSync(path, `${'x'.repeat(5000)}\n{}\n`);
    const rs = await collect(readRecordFile(path, 'trajectory', { maxBytes: 100 }));
    expect(rs.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['RECORD_TOO_LARGE', 'MISSING_ID']);
  });

  it('fail with IO_READ_FAILED for a missing file', async () => {
    await expect(collect(readRecordFile(join(dir, 'missing.jsonl'), 'trajectory'))).rejects.toMatchObject({
      code: 'IO_READ_FAILED',
    });
  });
});

describe('tests/fixtures/trajectories.sample.jsonl', () => {
  it('holds 20 valid trajectories with unique ids, in RL groups of at least 3 per task', async () => {
    const ts = await readValues(SAMPLE, 'trajectory');
    expect(ts).toHaveLength(20);
    for (const t of ts) validateTrajectory(t as Trajectory, DEFAULT_LIMITS);
    expect(new Set(ts.map((t) => t.id)).size).toBe(20);
    const perTask = new Map<string, number>();
    for (const t of ts) perTask.set(t.task_id, (perTask.get(t.task_id) ?? 0) + 1);
    for (const count of perTask.values()) expect(count).toBeGreaterThanOrEqual(3);
  });
});
