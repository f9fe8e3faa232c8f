import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BROKERS, resolveBrokers } from '../../src/config/kafka.ts';

describe('resolveBrokers', () => {
  it('prefers the flag over PRISM_KAFKA_BROKERS', () => {
    expect(resolveBrokers('a:1', { PRISM_KAFKA_BROKERS: 'b:2' })).toEqual(['a:1']);
  });

  it('falls back to PRISM_KAFKA_BROKERS when no flag is given', () => {
    expect(resolveBrokers(undefined, { PRISM_KAFKA_BROKERS: 'b:2,c:3' })).toEqual(['b:2', 'c:3']);
  });

  it('falls back to the local broker default 127.0.0.1:19092', () => {
    expect(DEFAULT_BROKERS).toBe('127.0.0.1:19092');
    expect(resolveBrokers(undefined, {})).toEqual(['127.0.0.1:19092']);
  });

  it('splits on commas and drops blanks and surrounding spaces, for any broker list', () => {
    const hostPort = fc
      .tuple(fc.stringMatching(/^[a-z0-9.-]{1,20}$/), fc.integer({ min: 1, max: 65535 }))
      .map(([h, p]) => `${h}:${p}`);
    const pad = fc.constantFrom('', ' ', '  ');
    fc.assert(
      fc.property(fc.array(fc.tuple(pad, hostPort, pad), { minLength: 1, maxLength: 5 }), (parts) => {
        const raw = parts.map(([a, hp, b]) => `${a}${hp}${b}`).join(',') + ',';
        expect(resolveBrokers(raw, {})).toEqual(parts.map(([, hp]) => hp));
      }),
    );
  });
});
