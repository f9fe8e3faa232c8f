import type { IHeaders } from 'kafkajs';
import { concatMap, type OperatorFunction } from 'rxjs';
import type { ScoredTrajectory } from '../schemas/types.ts';
import type { ArbitrateResult, Batch, Decided, Failed, Outbound } from './types.ts';

export interface RouteTopics {
  readonly sft: string;
  readonly rl: string;
  readonly dlq: string;
}

/** The dead-letter message for a failed record (raw key/value kept, reason in headers). */
export type DeadLetterBuilder = (failed: Failed) => {
  key: Buffer | string | null;
  value: Buffer | null;
  headers: IHeaders;
};

export interface RouteOptions {
  readonly topics: RouteTopics;
  /** ScoredTrajectory → wire bytes (Avro, Confluent framing). */
  readonly encodeScored: (record: ScoredTrajectory) => Buffer | Promise<Buffer>;
  readonly deadLetter: DeadLetterBuilder;
}

/** The ScoredTrajectory written for a decided record: scores, decision, probe and origin. */
export function toScoredTrajectory(d: Decided): ScoredTrajectory {
  return {
    trajectory: d.trajectory,
    prism: {
      ...d.scores,
      metric: d.decision.metric,
      threshold: d.decision.threshold,
      route: d.decision.route,
      probe_model_id: d.probe.modelId,
      probe_model_version: d.probe.version,
      scored_at: d.scoredAt,
      source_topic: d.source.topic,
      source_partition: d.source.partition,
      source_offset: d.source.offset,
    },
  };
}

/**
 * Maps every record of a batch to exactly one output message: decided records to the SFT or RL
 * topic (key = trajectory id, so downstream can dedupe), failed ones to the dead-letter topic.
 */
export function route(options: RouteOptions): OperatorFunction<Batch<ArbitrateResult>, Outbound[]> {
  const { topics } = options;
  const one = async (r: ArbitrateResult): Promise<Outbound> => {
    if (r.kind === 'failed') {
      const dl = options.deadLetter(r);
      const headers = { ...dl.headers, 'prism.error.stage': r.stage };
      return {
        source: r.source,
        route: 'DLQ',
        topic: topics.dlq,
        key: dl.key,
        value: dl.value,
        headers,
        reason: r.error.code,
      };
    }
    const { route: where, metric, threshold, policy, windowSize } = r.decision;
    return {
      source: r.source,
      route: where,
      topic: where === 'RL' ? topics.rl : topics.sft,
      key: r.trajectory.id,
      value: await options.encodeScored(toScoredTrajectory(r)),
      headers: {
        'prism.route': where,
        'prism.policy': policy,
        'prism.metric': metric,
        'prism.threshold': String(threshold),
        'prism.window.size': String(windowSize),
        'prism.probe.model': r.probe.modelId,
        'prism.probe.version': r.probe.version,
      },
    };
  };
  return concatMap((batch) => Promise.all(batch.map(one)));
}
