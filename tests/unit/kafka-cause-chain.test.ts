import { describe, expect, it } from 'vitest';
import { someInCauseChain } from '../../src/kafka/cause-chain.ts';

const named = (name: string, more: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(name), { name, ...more });
const isTarget = (e: { name?: unknown }): boolean => e.name === 'Target';

describe('someInCauseChain', () => {
  it('finds the error itself, through originalError (kafkajs retries) and through cause', () => {
    expect(someInCauseChain(named('Target'), isTarget)).toBe(true);
    expect(someInCauseChain(named('Retries', { originalError: named('Target') }), isTarget)).toBe(true);
    expect(
      someInCauseChain(
        named('Ours', { cause: named('Retries', { originalError: named('Target') }) }),
        isTarget,
      ),
    ).toBe(true);
    expect(someInCauseChain(named('Other', { cause: named('Else') }), isTarget)).toBe(false);
    expect(someInCauseChain(null, isTarget)).toBe(false);
    expect(someInCauseChain('Target', isTarget)).toBe(false);
  });

  it('stops maxDepth levels down (and on a cycle)', () => {
    let e: Error = named('Target');
    for (let i = 0; i < 3; i++) e = named('Wrap', { cause: e });
    expect(someInCauseChain(e, isTarget, 3)).toBe(true);
    expect(someInCauseChain(e, isTarget, 2)).toBe(false);
    const loop = named('Loop');
    Object.assign(loop, { cause: loop });
    expect(someInCauseChain(loop, isTarget)).toBe(false);
  });
});
