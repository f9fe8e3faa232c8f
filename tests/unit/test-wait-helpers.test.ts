import { describe, expect, it } from 'vitest';
import { formatDuration, waitForCount, waitUntil } from '../integration/helpers/wait.ts';

describe('integration wait helpers', () => {
  it('waitForCount keeps waiting while the count moves and fails on a stall, saying what it saw', async () => {
    let n = 0;
    await waitForCount({ what: 'slow but moving', target: 5, read: () => ++n, stallMs: 50, everyMs: 1 });
    expect(n).toBe(5);

    let calls = 0;
    const stalled = waitForCount({
      what: 'every input committed',
      target: 5000,
      read: () => (++calls < 3 ? calls * 1000 : 2000),
      stallMs: 30,
      everyMs: 5,
      context: () => 'tail of the log',
    });
    await expect(stalled).rejects.toThrow(
      /^timed out waiting for every input committed: 2,000 of 5,000; last progress \d+ s ago \(waited \d+ s\)\ntail of the log$/,
    );
  });

  it('waitForCount reports a failing read', async () => {
    await expect(
      waitForCount({
        what: 'x',
        target: 1,
        read: () => Promise.reject(new Error('broker away')),
        stallMs: 20,
        everyMs: 5,
      }),
    ).rejects.toThrow(/no reading yet; .*last read failed: broker away/);
  });

  it('waitUntil fails after its budget with the last observation', async () => {
    await expect(
      waitUntil({ what: 'run ready', check: () => '/readyz 503', budgetMs: 20, everyMs: 5 }),
    ).rejects.toThrow(/^timed out after \d+ s waiting for run ready: last seen \/readyz 503 \(\d+ checks\)$/);
    await waitUntil({ what: 'done', check: () => true });
  });

  it('formats durations for people', () => {
    expect(formatDuration(41_000)).toBe('41 s');
    expect(formatDuration(121_000)).toBe('2 min 1 s');
  });
});
