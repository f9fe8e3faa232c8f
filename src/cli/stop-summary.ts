import type { StopReport } from '../../streams/app.ts';

export type StopOutcome = 'clean' | 'aborted' | 'drain-timeout';

export interface StopSummary {
  readonly outcome: StopOutcome;
  readonly message: string;
  readonly fields: {
    readonly outcome: StopOutcome;
    readonly abortedLanes: number;
    readonly uncommittedRecords: number;
    readonly lanes: readonly string[];
  };
}

/**
 * The last line of `prism run`: what the stop really did. Clean when every in-flight batch was
 * committed; otherwise how many partition lanes were cut short (on a signal their batches are
 * aborted at once; without one, a drain that outlived lifecycle.shutdownTimeoutMs) and how many
 * records were not committed by this run, which the next owner of the partition re-reads.
 */
export function stopSummary(report: StopReport): StopSummary {
  const cut = report.aborted.filter((a) => a.uncommitted > 0);
  const records = cut.reduce((n, a) => n + a.uncommitted, 0);
  const timeout = cut.some((a) => a.reason.startsWith('drain timeout'));
  const outcome: StopOutcome = cut.length === 0 ? 'clean' : timeout ? 'drain-timeout' : 'aborted';
  const lanes = cut.length === 1 ? '1 partition lane' : `${cut.length} partition lanes`;
  const lost = `up to ${records} records not committed (re-read on restart)`;
  const message =
    outcome === 'clean'
      ? 'stopped cleanly: every in-flight batch committed'
      : outcome === 'drain-timeout'
        ? `stopped after a drain timeout: ${lanes} did not finish within lifecycle.shutdownTimeoutMs; ${lost}`
        : `stopped: aborted the in-flight batches of ${lanes}; ${lost}`;
  return {
    outcome,
    message,
    fields: { outcome, abortedLanes: cut.length, uncommittedRecords: records, lanes: cut.map((a) => a.lane) },
  };
}
