/**
 * Waits for integration tests that say what they saw when they give up, and whose deadlines follow
 * progress rather than the wall clock: on a loaded two-core machine a run that is slow but moving
 * is not a failure; one that stopped moving is. Nothing here asserts how long anything took.
 *
 * - waitForCount: a counter (committed offsets, trained ids) must reach a target; fails only when
 *   it has not moved for `stallMs`: "timed out waiting for every input committed: 4,812 of 5,000;
 *   last progress 41 s ago (waited 3 min 2 s)".
 * - waitUntil: a condition with no counter (ready again, a log line); fails after `budgetMs`
 *   with the last observation: "timed out after 90 s waiting for run ready: last seen /readyz 503".
 */

const fmt = new Intl.NumberFormat('en-US');

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${s % 60} s`;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CountWait {
  /** e.g. "every input committed" */
  readonly what: string;
  readonly target: number | bigint;
  /** Reads the counter; a thrown error counts as "no reading" (kept for the message). */
  readonly read: () => Promise<number | bigint> | number | bigint;
  /** Fail when the counter has not moved for this long (default 120 s). */
  readonly stallMs?: number;
  readonly everyMs?: number;
  /** Extra diagnostics appended to the failure (e.g. the tail of a child's log). */
  readonly context?: () => string;
}

/** Resolves when `read()` ≥ `target`; rejects when the count stalls for `stallMs`. */
export async function waitForCount(w: CountWait): Promise<void> {
  const stallMs = w.stallMs ?? 120_000;
  const start = Date.now();
  let last: bigint | undefined;
  let lastError: unknown;
  let movedAt = start;
  const target = BigInt(w.target);
  for (;;) {
    try {
      const now = BigInt(await w.read());
      lastError = undefined;
      if (now >= target) return;
      if (last === undefined || now > last) movedAt = Date.now();
      last = now;
    } catch (err) {
      lastError = err;
    }
    const idle = Date.now() - movedAt;
    if (idle > stallMs) {
      const seen = last === undefined ? 'no reading yet' : `${fmt.format(last)} of ${fmt.format(target)}`;
      const err = lastError === undefined ? '' : `; last read failed: ${describeError(lastError)}`;
      const extra = w.context ? `\n${w.context()}` : '';
      throw new Error(
        `timed out waiting for ${w.what}: ${seen}; last progress ${formatDuration(idle)} ago ` +
          `(waited ${formatDuration(Date.now() - start)})${err}${extra}`,
      );
    }
    await sleep(w.everyMs ?? 250);
  }
}

export interface UntilWait {
  readonly what: string;
  /** Returns true when done, or a string saying what it saw instead (kept for the message). */
  readonly check: () => Promise<true | string> | true | string;
  readonly budgetMs?: number;
  readonly everyMs?: number;
  readonly context?: () => string;
}

/** Resolves when `check()` returns true; after `budgetMs` rejects with the last observation. */
export async function waitUntil(w: UntilWait): Promise<void> {
  const budgetMs = w.budgetMs ?? 120_000;
  const start = Date.now();
  let seen: string;
  let polls = 0;
  for (;;) {
    try {
      const r = await w.check();
      polls += 1;
      if (r === true) return;
      seen = r;
    } catch (err) {
      polls += 1;
      seen = `check failed: ${describeError(err)}`;
    }
    if (Date.now() - start > budgetMs) {
      const extra = w.context ? `\n${w.context()}` : '';
      throw new Error(
        `timed out after ${formatDuration(Date.now() - start)} waiting for ${w.what}: last seen ${seen} (${polls} checks)${extra}`,
      );
    }
    await sleep(w.everyMs ?? 250);
  }
}
