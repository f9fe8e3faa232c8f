import type { Readiness } from '../http/server.ts';
import { runtimeReadiness } from '../runtime/readiness.ts';
import type { SourceStatus } from './source.ts';

/**
 * Ready = member of the group with an assignment received, and the broker answered recently.
 * A member that was assigned zero partitions is joined and idle: ready (it is a hot standby).
 */
export function readinessOf(
  status: SourceStatus,
  now: number,
  brokerStaleMs: number,
  stopping: boolean,
): Readiness {
  return runtimeReadiness(
    { stopping, joined: status.joined, lastBrokerOkAt: status.lastBrokerOkAt },
    now,
    brokerStaleMs,
    undefined,
    { generation: status.generation, partitions: status.assignment },
  );
}
