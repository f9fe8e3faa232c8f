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
 *     → arbitrate    window per probe version; held until warm
 *     → route        exactly one output per input: SFT | RL | DLQ
 *   Sink: topics.sft | topics.rl | topics.dlq + input offset, one transaction per micro-batch
 */
import { tap, type Observable, type OperatorFunction } from 'rxjs';
import type { Arbitrator } from '../src/arbitration/arbitrator.ts';
import type { PrismConfig } from '../src/config/schema.ts';
import type { Logger } from '../src/log.ts';
import type { PipelineMetrics } from '../src/metrics/pipeline-metrics.ts';
import { arbitrate } from '../src/operators/arbitrate.ts';
import { commit } from '../src/operators/commit.ts';
import { decode, type ValueDecoder } from '../src/operators/decode.ts';
import { microBatch } from '../src/operators/micro-batch.ts';
import { route, type DeadLetterBuilder } from '../src/operators/route.ts';
import { score } from '../src/operators/score.ts';
import { SerialGate } from '../src/operators/serial-gate.ts';
import type {
  ArbitrateResult,
  Batch,
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
  readonly delivery: PrismConfig['delivery']['mode'];
  /** The operator chain of one partition lane, ending in the lane's sink. */
  lane(records$: Observable<SourceRecord>, sink: LaneSink): Observable<Committed>;
  describe(): string;
}

export function buildTopology(deps: TopologyDeps): Topology {
  const { config: c, metrics, scorer, arbitrator } = deps;
  const topics = { sft: c.topics.sft, rl: c.topics.rl, dlq: c.topics.dlq };
  const gate = new SerialGate();
  const a = c.arbitration;

  const stages = {
    decode: {
      name: 'decode',
      detail: `${c.input.format} → Trajectory + validation; bad records → ${topics.dlq}`,
      op: decode(deps.decodeValue, { isFatal: deps.isFatalDecodeError }),
    } satisfies Stage<SourceRecord, DecodeResult>,
    microBatch: {
      name: 'microBatch',
      detail: `${c.batch.size} records or ${c.batch.maxWaitMs} ms, never empty`,
      op: microBatch<DecodeResult>(c.batch.size, c.batch.maxWaitMs),
    } satisfies Stage<DecodeResult, DecodeResult[]>,
    score: {
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
              metrics.scorerInfo.reset();
              metrics.scorerInfo.set(
                { backend: scorer.backend, probe_model: change.to.modelId, probe_version: change.to.version },
                1,
              );
            },
          }),
        ),
    } satisfies Stage<Batch<DecodeResult>, ScoreResult[]>,
    arbitrate: {
      name: 'arbitrate',
      detail:
        a.policy === 'threshold'
          ? `${a.metric} > ${a.threshold} → RL`
          : `${a.metric} > ${a.policy === 'median' ? 'median' : `q${a.quantile}`} of last ${a.window} (per probe version, warm-up ${a.warmup}${a.calibrate ? `, seeded from ${a.calibrate}` : ''}) → RL; ties → SFT`,
      op: (src: Observable<Batch<ScoreResult>>) =>
        src.pipe(
          arbitrate(arbitrator, {
            onDropHeld: (n) => {
              metrics.heldDropped.inc(n);
              deps.log.warn(
                { records: n },
                'lane closed during warm-up: held records stay uncommitted and are re-read later',
              );
            },
          }),
          tap((batch) => deps.onDecided?.(batch)),
        ),
    } satisfies Stage<Batch<ScoreResult>, ArbitrateResult[]>,
    route: {
      name: 'route',
      detail: `exactly one output per input → ${topics.sft} | ${topics.rl} | ${topics.dlq}; key = trajectory id`,
      op: route({
        topics,
        encodeScored: (r) => deps.encodeScored(r.prism.route === 'RL' ? topics.rl : topics.sft, r),
        deadLetter: deps.deadLetter,
      }),
    } satisfies Stage<Batch<ArbitrateResult>, Outbound[]>,
  };

  const sinkDetail =
    c.delivery.mode === 'exactly-once'
      ? `one transaction per micro-batch: outputs + input offset (transactional.id ${c.delivery.transactionalIdPrefix}-${c.consumer.groupId}-<topic>-<partition>)`
      : 'idempotent producer, offsets committed after acks (at-least-once)';

  return {
    source: { topic: c.topics.trajectories, groupId: c.consumer.groupId },
    sinks: topics,
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
        `Sink: ${topics.sft} | ${topics.rl} | ${topics.dlq} — ${sinkDetail}`,
      ].join('\n'),
  };
}
