import { describe, expect, it } from 'vitest';
import { uniqueName } from './helpers/kafka.ts';
import {
  audit,
  diagnostics,
  committedTotal,
  createOutputs,
  exactlyOnceViolations,
  runArgs,
  startCli,
  waitFor,
  waitUntilConsumed,
  writeInput,
} from './run-fixtures.ts';

const joinedWith = (stderr: string): number[][] =>
  stderr
    .split('\n')
    .filter((l) => l.includes('"msg":"joined group"'))
    .map((l) => (JSON.parse(l) as { partitions: number[] }).partitions);

describe('two prism run instances in one group', () => {
  it('share the partitions and together give exactly once, also when one is killed', async () => {
    const input = await writeInput('pair-in', 5000, { partitions: 4 });
    const out = await createOutputs('pair');
    const group = uniqueName('pair-group');
    const args = runArgs(input, out, group, {
      'scorer.deterministic.delayMs': 40,
      'consumer.sessionTimeoutMs': 6000,
    });

    const a = startCli(args);
    const b = startCli(args);
    try {
      // Both members own partitions at the same time (a 2+2 split of the 4 partitions).
      await waitFor('both instances to be assigned partitions', async () => {
        const ja = joinedWith(a.stderr()).at(-1) ?? [];
        const jb = joinedWith(b.stderr()).at(-1) ?? [];
        return ja.length > 0 && jb.length > 0 && ja.length + jb.length === 4;
      });
      await waitFor(
        '1,500 records committed',
        async () => (await committedTotal(group, input.topic)) >= 1500n,
      );
      a.child.kill('SIGKILL');
      await a.exited;
      // The survivor takes over every partition (after the dead member's session times out).
      await waitFor(
        'survivor to own all partitions',
        async () => (joinedWith(b.stderr()).at(-1) ?? []).length === 4,
      );
      await waitUntilConsumed(group, input.topic);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGTERM');
    }
    expect((await b.exited).code, diagnostics({ b })).toBe(0);

    const result = await audit(out);
    expect(exactlyOnceViolations(input, result), diagnostics({ a, b })).toEqual([]);
  });
});
