import { describe, expect, it } from 'vitest';
import { uniqueName } from './helpers/kafka.ts';
import {
  audit,
  diagnostics,
  committedTotal,
  createOutputs,
  endTotal,
  exactlyOnceViolations,
  runArgs,
  startCli,
  waitFor,
  waitUntilConsumed,
  writeInput,
} from './run-fixtures.ts';

describe('prism run survives kill -9', () => {
  it('loses nothing and duplicates nothing when killed mid-stream and restarted', async () => {
    const input = await writeInput('crash-in', 5000, { partitions: 3 });
    const out = await createOutputs('crash');
    const group = uniqueName('crash-group');
    // A slow-ish scorer keeps the stream busy long enough to be killed in the middle.
    const args = runArgs(input, out, group, {
      'scorer.deterministic.delayMs': 40,
      'consumer.sessionTimeoutMs': 6000,
    });

    const first = startCli(args);
    await waitFor(
      'first instance to commit 1,000 records',
      async () => (await committedTotal(group, input.topic)) >= 1000n,
    );
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    expect(killed.signal).toBe('SIGKILL');
    const atKill = await committedTotal(group, input.topic);
    expect(atKill).toBeLessThan(await endTotal(input.topic)); // really mid-stream

    const second = startCli(args);
    try {
      await waitUntilConsumed(group, input.topic);
    } finally {
      second.child.kill('SIGTERM');
    }
    expect((await second.exited).code, diagnostics({ second })).toBe(0);

    const a = await audit(out);
    expect(exactlyOnceViolations(input, a), diagnostics({ first, second })).toEqual([]);
  });
});
