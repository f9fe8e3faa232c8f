/**
 * THE prism-stream topology, declared in one place (like a Kafka Streams `Topology`): source
 * topic, the ordered operators of a partition lane, and the sink topics. `lane()` composes
 * exactly the stages listed in `stages`, and `describe()` prints that same list, so what runs is
 * what is declared.
 *
 *   Source: topics.trajectories (group consumer.groupId, one lane per partition)
 *     → decode       bytes → Trajectory; bad records become DLQ items, in place
 *     → microBatch   batch.size records or batch.maxWaitMs, never empty
 *     → score        one micro-batch at a time on the scorer's backend; probe.mode follow swaps
 *                    the probe model here, between micro-batches (never inside one)
 *     → arbitrate    window per probe version; held until warm. arbitration.state kafka: the
 *                    window is global (every instance reads topics.scores, restored on start)
 *     → route        exactly one output per input: SFT | RL | DLQ (+ its score for topics.scores)
 *   Sink: topics.sft | topics.rl | topics.dlq (+ topics.scores) + input offset, one transaction
 *         per micro-batch
 */
import { concatMap, map, of, tap, type Observable, type OperatorFunction } from 'rxjs';
import type { Arbitrator } from '../src/arbitration/arbitrator.ts';
import type { PrismConfig } from '../src/config/schema.ts';
import type { Logger } from '../src/log.ts';
import type { PipelineMetrics } from '../src/metrics/pipeline-metrics.ts';
import { arbitrate } from '../src/operators/arbitrate.ts';
import { commit } from '../src/operators/commit.ts';
import { decode, type ValueDecoder } from '../src/operators/decode.ts';
import { microBatch } from '../src/operators/micro-batch.ts';
import { encodeScoreRecord, scoreRecordKey, type ScoreRecord } from '../src/arbitration/score-record.ts';
import { route, type DeadLetterBuilder } from '../src/operators/route.ts';
import { score } from '../src/operators/score.ts';
import { SerialGate } from '../src/operators/serial-gate.ts';
import type {
  ArbitrateResult,
  Batch,
  Decided,
  DecodeResult,
  Outbound,
  ScoreResult,
  SourceRecord,
} from '../src/operators/types.ts';
import type { Committed, LaneSink } from '../src/producer/types.ts';
import type { ScoredTrajectory } from '../src/schemas/types.ts';
import type { Scorer } from '../src/scorer/types.ts';

export interface TopologyDeps {
  readonly config: PrismConfig;
  readonly scorer: Scorer;
  readonly arbitrator: Arbitrator;
  readonly decodeValue: ValueDecoder;
  /** Decode errors that are infrastructure failures (schema registry down), not bad records. */
  readonly isFatalDecodeError: (err: unknown) => boolean;
  readonly encodeScored: (topic: string, record: ScoredTrajectory) => Buffer | Promise<Buffer>;
  readonly deadLetter: DeadLetterBuilder;
  readonly metrics: PipelineMetrics;
  readonly log: Logger;
  /** Sees every decided micro-batch (the live dashboard); before commit, so a retried batch is seen twice. */
  readonly onDecided?: (batch: readonly ArbitrateResult[]) => void;
}

interface Stage<I, O> {
  readonly name: string;
  readonly detail: string;
  readonly op: OperatorFunction<I, O>;
}

export interface Topology {
  readonly source: { readonly topic: string; readonly groupId: string };
  readonly sinks: { readonly sft: string; readonly rl: string; readonly dlq: string };
  /** The window's changelog (arbitration.state kafka), or null for a window in memory. */
  readonly scores: string | null;
  readonly delivery: PrismConfig['delivery']['mode'];
  /** The operator chain of one partition lane, ending in the lane's sink. */
  lane(records$: Observable<SourceRecord>, sink: LaneSink): Observable<Committed>;
  describe(): string;
}

type SinkTopics = { readonly sft: string; readonly rl: string; readonly dlq: string };

export function buildTopology(deps: TopologyDeps): Topology {
  const c = deps.config;
  const topics = { sft: c.topics.sft, rl: c.topics.rl, dlq: c.topics.dlq };
  const gate = new SerialGate();
  const a = c.arbitration;
  const scoresTopic = a.state === 'kafka' ? c.topics.scores : null;

  // One sub-topology per stage, in the order the lane runs them (each defined below, same order).
  const stages = {
    decode: decodeStage(deps, topics),
    microBatch: microBatchStage(c),
    score: scoreStage(deps, gate),
    arbitrate: arbitrateStage(deps, scoresTopic),
    route: routeStage(deps, topics, scoresTopic),
  };

  const sinkDetail =
    c.delivery.mode === 'exactly-once'
      ? `one transaction per micro-batch: outputs${scoresTopic ? ' + scores' : ''} + input offset (transactional.id ${c.delivery.transactionalIdPrefix}-${c.consumer.groupId}-<topic>-<partition>)`
      : 'idempotent producer, offsets committed after acks (at-least-once)';

  return {
    source: { topic: c.topics.trajectories, groupId: c.consumer.groupId },
    sinks: topics,
    scores: scoresTopic,
    delivery: c.delivery.mode,
    lane: (records$, sink) =>
      records$.pipe(
        stages.decode.op,
        stages.microBatch.op,
        stages.score.op,
        stages.arbitrate.op,
        stages.route.op,
        commit(sink),
      ),
    describe: () =>
      [
        `Source: ${c.topics.trajectories} (group ${c.consumer.groupId}; one lane per partition; pause at ${c.consumer.highWatermark} in flight, resume at ${c.consumer.lowWatermark})`,
        ...Object.values(stages).map((s) => `  → ${s.name.padEnd(10)} ${s.detail}`),
        `Sink: ${topics.sft} | ${topics.rl} | ${topics.dlq}${scoresTopic ? ` (+ ${scoresTopic})` : ''} — ${sinkDetail}`,
        `State: arbitration.state ${a.state}${
          scoresTopic
            ? ` — window changelog ${scoresTopic}, one score per committed record (key = input topic/partition)`
            : ' — window in memory, lost on restart'
        }`,
      ].join('\n'),
  };
}

/** decode: bytes → Trajectory; bad records become DLQ items, in place. */
function decodeStage(deps: TopologyDeps, topics: SinkTopics): Stage<SourceRecord, DecodeResult> {
  return {
    name: 'decode',
    detail: `${deps.config.input.format} → Trajectory + validation; bad records → ${topics.dlq}`,
    op: decode(deps.decodeValue, { isFatal: deps.isFatalDecodeError }),
  };
}

/** microBatch: batch.size records or batch.maxWaitMs, never empty. */
function microBatchStage(c: PrismConfig): Stage<DecodeResult, DecodeResult[]> {
  return {
    name: 'microBatch',
    detail: `${c.batch.size} records or ${c.batch.maxWaitMs} ms, never empty`,
    op: microBatch<DecodeResult>(c.batch.size, c.batch.maxWaitMs),
  };
}

/** score: one micro-batch at a time; probe.mode follow swaps the probe model here, between micro-batches. */
function scoreStage(deps: TopologyDeps, gate: SerialGate): Stage<Batch<DecodeResult>, ScoreResult[]> {
  const { config: c, metrics, scorer, arbitrator } = deps;
  return {
    name: 'score',
    detail: `${scorer.probeModelId}@${scorer.probeModelVersion} on ${scorer.backend}, one micro-batch at a time; ${
      c.probe.mode === 'follow'
        ? `probe: follow ${c.probe.followModelId} (${c.topics.modelUpdates}), sha256-verified, swaps between micro-batches`
        : 'probe: frozen'
    }`,
    op: (src: Observable<Batch<DecodeResult>>) =>
      src.pipe(
        tap((b) => metrics.batchSize.observe(b.length)),
        score(scorer, {
          gate,
          onScored: (_n, seconds) => metrics.scoringSeconds.observe(seconds),
          // The swap point (probe.mode follow): the old version's window stops waiting for warm-up,
          // the new version's window opens with its first scores.
          onSwap: (change) => {
            arbitrator.retire(change.from);
            metrics.setScorerInfo(scorer, change.to);
          },
        }),
      ),
  };
}

/** arbitrate: window per probe version, held until warm; global window with arbitration.state kafka. */
function arbitrateStage(
  deps: TopologyDeps,
  scoresTopic: string | null,
): Stage<Batch<ScoreResult>, ArbitrateResult[]> {
  const a = deps.config.arbitration;
  return {
    name: 'arbitrate',
    detail:
      a.policy === 'threshold'
        ? `${a.metric} > ${a.threshold} → RL`
        : `${a.metric} > ${a.policy === 'median' ? 'median' : `q${a.quantile}`} of last ${a.window} (per probe version, warm-up ${a.warmup}${a.calibrate ? `, seeded from ${a.calibrate}${scoresTopic ? ' when the scores topic holds fewer' : ''}` : ''}) → RL; ties → SFT; ${
            scoresTopic
              ? `state kafka: one global window from ${scoresTopic} (read_committed, all partitions), restored on start`
              : 'state local: window in memory, per instance'
          }`,
    op: (src: Observable<Batch<ScoreResult>>) =>
      src.pipe(
        arbitrate(deps.arbitrator, {
          onDropHeld: (n) => {
            deps.metrics.heldDropped.inc(n);
            deps.log.warn(
              { records: n },
              'lane closed during warm-up: held records stay uncommitted and are re-read later',
            );
          },
        }),
        tap((batch) => deps.onDecided?.(batch)),
      ),
  };
}

/** route: exactly one output per input (SFT | RL | DLQ), plus its score for the scores topic. */
function routeStage(
  deps: TopologyDeps,
  topics: SinkTopics,
  scoresTopic: string | null,
): Stage<Batch<ArbitrateResult>, Outbound[]> {
  return {
    name: 'route',
    detail: `exactly one output per input → ${topics.sft} | ${topics.rl} | ${topics.dlq}; key = trajectory id`,
    op: withChangelog(
      route({
        topics,
        encodeScored: (r) => deps.encodeScored(r.prism.route === 'RL' ? topics.rl : topics.sft, r),
        deadLetter: deps.deadLetter,
      }),
      scoresTopic,
      deps.config.consumer.groupId,
      (d) => deps.arbitrator.valueOf(d.scores),
    ),
  };
}

/** The score record of a decided record: what the window's changelog holds. */
export function scoreRecordOf(d: Decided, group: string, value: number): ScoreRecord {
  return {
    v: 1,
    group,
    trajectory_id: d.trajectory.id,
    probe_model_id: d.probe.modelId,
    probe_model_version: d.probe.version,
    metric: d.decision.metric,
    value,
    scores: { gini: d.scores.gini, kurtosis: d.scores.kurtosis, cv: d.scores.cv, l2: d.scores.l2 },
    route: d.decision.route,
    threshold: d.decision.threshold,
    source_topic: d.source.topic,
    source_partition: d.source.partition,
    source_offset: d.source.offset,
    scored_at: d.scoredAt,
  };
}

/**
 * Route, then attach each decided record's score for the scores topic to its output (the sink
 * writes both in one transaction). Outputs keep their one-per-input order; null topic: unchanged.
 */
function withChangelog(
  routeOp: OperatorFunction<Batch<ArbitrateResult>, Outbound[]>,
  scoresTopic: string | null,
  group: string,
  valueOf: (d: Decided) => number,
): OperatorFunction<Batch<ArbitrateResult>, Outbound[]> {
  if (scoresTopic === null) return routeOp;
  return concatMap((batch: Batch<ArbitrateResult>) =>
    of(batch).pipe(
      routeOp,
      map((outputs) =>
        outputs.map((o, i) => {
          const r = batch[i];
          if (r === undefined || r.kind !== 'decided') return o;
          const record = scoreRecordOf(r, group, valueOf(r));
          return {
            ...o,
            changelog: { topic: scoresTopic, key: scoreRecordKey(record), value: encodeScoreRecord(record) },
          };
        }),
      ),
    ),
  );
}
