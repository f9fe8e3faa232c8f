import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/input.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { RECORD_REASON_CODES, RecordError } from '../../src/schemas/errors.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { validateTrajectory } from '../../src/schemas/validate.ts';

interface BadEntry {
  file: string;
  decoder: 'avro' | 'json';
  expected: string;
  limits?: { maxTurns?: number; maxTokens?: number; maxBytes?: number };
  why: string;
}

const dir = join(import.meta.dirname, '..', 'fixtures', 'bad');
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as BadEntry[];
const registry = openLocalRegistry();

describe('bad-input corpus (tests/fixtures/bad)', () => {
  it('has at least 15 distinct inputs, every file indexed and every code a known reason code', () => {
    const files = readdirSync(dir).filter((f) => f !== 'index.json' && f !== 'README.md');
    expect(index.length).toBeGreaterThanOrEqual(15);
    expect(new Set(index.map((e) => e.file)).size).toBe(index.length);
    expect(index.map((e) => e.file).sort()).toEqual(files.sort());
    const contents = new Set(
      index.map((e) => readFileSync(join(dir, e.file)).toString('base64') + JSON.stringify(e.limits ?? {})),
    );
    expect(contents.size).toBe(index.length);
    for (const e of index) expect(RECORD_REASON_CODES).toContain(e.expected);
  });

  it.each(index)('$file is rejected with $expected ($why)', async (entry) => {
    const limits = { ...DEFAULT_LIMITS, ...entry.limits };
    const codec = new RecordCodec('trajectory', {
      format: entry.decoder,
      registry,
      maxBytes: limits.maxBytes,
    });
    const bytes = readFileSync(join(dir, entry.file));
    const err = await codec
      .decode(bytes)
      .then((t) => validateTrajectory(t, limits))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(RecordError);
    expect((err as RecordError).code).toBe(entry.expected);
  });
});
