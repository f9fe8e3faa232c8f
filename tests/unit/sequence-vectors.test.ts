/**
 * The shared sequence test vectors (tests/fixtures/sequence-vectors.json) are what TypeScript builds
 * today: regenerate with `npx tsx tools/sequence-vectors/make.ts` when src/sequence or src/tokenizer
 * change on purpose. clients/python/tests/test_sequence_vectors.py checks the Python client against
 * the same file. Also: the Python package ships the current schemas/registry.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildVectors, type SequenceVectors } from '../../tools/sequence-vectors/vectors.ts';

const ROOT = join(import.meta.dirname, '../..');

describe('shared sequence test vectors', () => {
  const committed = JSON.parse(
    readFileSync(join(ROOT, 'tests/fixtures/sequence-vectors.json'), 'utf8'),
  ) as SequenceVectors;

  it('the committed file is what src/sequence and src/tokenizer produce now', () => {
    expect(buildVectors()).toEqual(committed);
  });

  it('covers every tokenizer kind and turn format, truncation and each error code', () => {
    const names = committed.cases.map((c) => c.name);
    for (const tok of ['byte', 'chatml', 'llama3', 'plain']) {
      expect(names).toContain(`${tok}/multi`);
      expect(names).toContain(`${tok}/unicode`);
    }
    const truncated = committed.cases.filter((c) => 'ids' in c.expect && c.expect.truncated);
    expect(truncated.length).toBeGreaterThanOrEqual(4);
    const errors = new Set(committed.cases.flatMap((c) => ('error' in c.expect ? [c.expect.error] : [])));
    expect([...errors].sort()).toEqual(['NO_TARGET_TOKENS', 'TOKENIZER_UNAVAILABLE', 'TOKEN_OUT_OF_VOCAB']);
  });
});

describe('Python client package data', () => {
  it('ships an identical copy of schemas/registry.json (copy it over after `prism schemas build`)', () => {
    const repo = readFileSync(join(ROOT, 'schemas/registry.json'), 'utf8');
    const shipped = readFileSync(join(ROOT, 'clients/python/prism_stream/data/registry.json'), 'utf8');
    expect(shipped).toBe(repo);
  });
});
