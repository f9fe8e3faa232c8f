import { describe, expect, it } from 'vitest';
import { stopSummary } from '../../src/cli/stop-summary.ts';

describe('stopSummary (the last line of prism run)', () => {
  it('is clean when no lane was cut short with records in flight', () => {
    const s = stopSummary({
      aborted: [{ lane: 't[0]@1', reason: 'stopped (signal SIGTERM)', uncommitted: 0 }],
    });
    expect(s.outcome).toBe('clean');
    expect(s.message).toBe('stopped cleanly: every in-flight batch committed');
    expect(stopSummary({ aborted: [] }).outcome).toBe('clean');
  });

  it('says how many lanes a signal aborted and how many records were left uncommitted', () => {
    const s = stopSummary({
      aborted: [
        { lane: 't[0]@1', reason: 'stopped (signal SIGTERM)', uncommitted: 40 },
        { lane: 't[1]@1', reason: 'stopped (signal SIGTERM)', uncommitted: 2 },
      ],
    });
    expect(s.outcome).toBe('aborted');
    expect(s.message).toBe(
      'stopped: aborted the in-flight batches of 2 partition lanes; up to 42 records not committed (re-read on restart)',
    );
    expect(s.fields).toEqual({
      outcome: 'aborted',
      abortedLanes: 2,
      uncommittedRecords: 42,
      lanes: ['t[0]@1', 't[1]@1'],
    });
  });

  it('names a drain timeout when a lane outlived lifecycle.shutdownTimeoutMs', () => {
    const s = stopSummary({
      aborted: [{ lane: 't[2]@3', reason: 'drain timeout (30000 ms)', uncommitted: 7 }],
    });
    expect(s.outcome).toBe('drain-timeout');
    expect(s.message).toMatch(/^stopped after a drain timeout: 1 partition lane did not finish/);
    expect(s.message).toContain('up to 7 records not committed');
  });
});
