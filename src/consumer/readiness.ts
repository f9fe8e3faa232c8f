import type { Readiness } from '../http/server.ts';
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
  const reasons: string[] = [];
  if (stopping) reasons.push('shutting down');
  if (!status.joined) reasons.push('not joined to the consumer group (starting or rebalancing)');
  if (status.lastBrokerOkAt === 0) reasons.push('no broker response yet');
  else if (now - status.lastBrokerOkAt > brokerStaleMs)
    reasons.push(`broker unreachable for ${Math.round((now - status.lastBrokerOkAt) / 1000)} s`);
  return {
    ready: reasons.length === 0,
    reasons,
    detail: { generation: status.generation, partitions: status.assignment },
  };
}
