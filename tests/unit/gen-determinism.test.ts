import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { generate, type GenOptions } from '../../src/gen/generate.ts';
import { ConfigError } from '../../src/errors.ts';

const all = (o: GenOptions) => [...generate(o)];

describe('prism gen determinism', () => {
  it('produces byte-identical records for the same seed and options', () => {
    const opts = { n: 120, seed: 42, conflictShare: 0.3 };
    expect(JSON.stringify(all(opts))).toBe(JSON.stringify(all(opts)));
  });

  it('produces different records for different seeds', () => {
    const a = all({ n: 40, seed: 1 }).map((t) => t.turns);
    const b = all({ n: 40, seed: 2 }).map((t) => t.turns);
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(b));
  });

  it('makes a smaller run a prefix of a larger one (records do not depend on --n)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 30 }), (seed, n) => {
        const small = all({ n, seed, conflictShare: 0.5 });
        const large = all({ n: n + 13, seed, conflictShare: 0.5 });
        expect(large.slice(0, n)).toEqual(small);
      }),
      { numRuns: 20 },
    );
  });

  it('gives unique deterministic ids and increasing created_at from the seed', () => {
    const recs = all({ n: 400, seed: 9, conflictShare: 0.2 });
    expect(new Set(recs.map((t) => t.id)).size).toBe(recs.length);
    expect(recs[0].id).toBe('gen-s9-t0-r0');
    for (let i = 1; i < recs.length; i++) expect(recs[i].created_at).toBeGreaterThan(recs[i - 1].created_at);
    expect(all({ n: 1, seed: 9 })[0].created_at).toBe(recs[0].created_at);
    expect(all({ n: 1, seed: 9, startMs: 5_000 })[0].created_at).toBe(5_000);
  });

  it('rejects bad options before generating anything', () => {
    expect(() => generate({ n: 1, seed: 1, families: ['pick', 'fly'] })).toThrow(ConfigError);
    expect(() => generate({ n: 1, seed: 1, conflictShare: 1.5 })).toThrow(/conflict-share/);
    expect(() => generate({ n: 1, seed: 1, maxChars: 10 })).toThrow(/max-chars/);
    expect(() => generate({ n: -1, seed: 1 })).toThrow(/--n/);
    expect(() => generate({ n: 1, seed: 1, groupSize: 0 })).toThrow(/group-size/);
  });
});
