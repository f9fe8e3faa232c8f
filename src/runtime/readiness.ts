import type { Readiness } from '../http/server.ts';

/** What /readyz of a runtime looks at: its lifecycle, its group membership and the broker. */
export interface RuntimeStatus {
  readonly stopping?: boolean;
  readonly failed?: boolean;
  /** Member of its consumer group with an assignment received. */
  readonly joined: boolean;
  /** ms epoch of the last successful broker request (0 = none yet). */
  readonly lastBrokerOkAt: number;
}

export interface ReadinessWording {
  readonly failed: string;
  readonly notJoined: string;
  /** Reason while no broker request succeeded yet; undefined = not a reason on its own. */
  readonly noBrokerYet?: string;
}

export const PIPELINE_WORDING: ReadinessWording = {
  failed: 'pipeline failed',
  notJoined: 'not joined to the consumer group (starting or rebalancing)',
  noBrokerYet: 'no broker response yet',
};

/**
 * Ready = running, joined, and the broker answered within `brokerStaleMs` (a member silent for a
 * session timeout would be evicted). The one readiness rule of `prism run` and the trainers.
 */
export function runtimeReadiness(
  s: RuntimeStatus,
  now: number,
  brokerStaleMs: number,
  wording: ReadinessWording = PIPELINE_WORDING,
  detail?: Record<string, unknown>,
): Readiness {
  const reasons: string[] = [];
  if (s.failed === true) reasons.push(wording.failed);
  if (s.stopping === true) reasons.push('shutting down');
  if (!s.joined) reasons.push(wording.notJoined);
  if (s.lastBrokerOkAt === 0) {
    if (wording.noBrokerYet !== undefined) reasons.push(wording.noBrokerYet);
  } else if (now - s.lastBrokerOkAt > brokerStaleMs) {
    reasons.push(`broker unreachable for ${Math.round((now - s.lastBrokerOkAt) / 1000)} s`);
  }
  return { ready: reasons.length === 0, reasons, ...(detail === undefined ? {} : { detail }) };
}
