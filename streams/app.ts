import type { Admin, Consumer, Producer } from 'kafkajs';
import { createRequire } from 'node:module';
import {
  EMPTY,
  catchError,
  finalize,
  mergeMap,
  takeUntil,
  tap,
  type Observable,
  type Subscription,
} from 'rxjs';
import type { Arbitrator, WindowSnapshot } from '../src/arbitration/arbitrator.ts';
import { arbitratorFromConfig } from '../src/runtime/arbitrator.ts';
import type { PrismConfig } from '../src/config/schema.ts';
import type { PartitionLane } from '../src/consumer/lane.ts';
import { readinessOf } from '../src/consumer/readiness.ts';
import { KafkaSource, type LaneOpener } from '../src/consumer/source.ts';
import { errorMessage } from '../src/errors.ts';
import { resolveAuthToken } from '../src/http/guard.ts';
import { TopicLimits } from '../src/kafka/admin/topic-limits.ts';
import { adminProbe } from '../src/kafka/watchdog.ts';
import { startHttpServer, type Readiness, type RunningHttpServer } from '../src/http/server.ts';
import { log as rootLog, type Logger } from '../src/log.ts';
import { PipelineMetrics } from '../src/metrics/pipeline-metrics.ts';
import { SinkError } from '../src/producer/errors.ts';
import { atLeastOnceOpener, transactionalOpener } from '../src/producer/openers.ts';
import type { Committed } from '../src/producer/types.ts';
import { connectKafka, type KafkaConnection } from '../src/runtime/kafka.ts';
import { Lifecycle } from '../src/runtime/lifecycle.ts';
import type { Scorer } from '../src/scorer/types.ts';
import { dashboardRoutes, pipelineLag, type LiveCollector } from '../src/dashboard/index.ts';
import { ArbitrationStateError } from '../src/arbitration/score-record.ts';
import { ensureTopics, prismTopicSpecs, type TopicSpec } from '../src/kafka/admin/topics.ts';
import { pipelineCodecs } from './codecs.ts';
import { GlobalWindow } from './global-window.ts';
import { openRunScorer, type OpenedRunScorer } from './scorer.ts';
import { buildTopology, type Topology } from './topology.ts';

export interface StartOptions {
  readonly log?: Logger;
  /** Use this scorer instead of the one `scorer.kind` names (tests). */
  readonly scorer?: Scorer;
  /** Live dashboard: fed every decided batch, sampled every 2 s, served at /dashboard on the HTTP server. */
  readonly dashboard?: LiveCollector;
}

export interface PipelineHandle {
  readonly topology: Topology;
  readonly metrics: PipelineMetrics;
  readonly http: RunningHttpServer | undefined;
  /** Settles when the pipeline has stopped: resolves after stop(), rejects on a fatal failure. */
  readonly done: Promise<void>;
  readiness(): Readiness;
  /**
   * Graceful: stop fetching, drain and commit (bounded by lifecycle.shutdownTimeoutMs), leave the
   * group. With `abortInFlight` (a signal), in-flight micro-batches are aborted instead of awaited.
   */
  stop(reason?: string, opts?: StopOptions): Promise<void>;
  /** Fatal: abort in-flight lanes and their open transactions (nothing more commits), release everything. */
  fail(err: Error): Promise<void>;
  /** What the stop left uncommitted (lanes aborted after stop() began), for the last log line. */
  stopReport(): StopReport;
}

export interface StopOptions {
  /** Abort the in-flight micro-batches and their transactions (re-read on restart) rather than wait for them. */
  readonly abortInFlight?: boolean;
}

export interface StopReport {
  /** Lanes that ended aborted during the stop: why, and how many of their records were not acked. */
  readonly aborted: readonly {
    readonly lane: string;
    readonly reason: string;
    readonly uncommitted: number;
  }[];
}

const readCommittedFix = createRequire(import.meta.url)('../src/consumer/read-committed-fix.cjs') as {
  install(): boolean;
};

/** The Kafka clients of a pipeline: the group consumer, an admin, and the sinks' opener. */
interface PipelineClients {
  readonly consumer: Consumer;
  readonly admin: Admin;
  readonly opener: LaneOpener;
  /** The shared idempotent producer of at-least-once delivery. */
  readonly aloProducer?: Producer;
}

/** Everything build() wires before start(): nothing consumes yet. */
interface PipelineParts {
  readonly config: PrismConfig;
  readonly log: Logger;
  readonly connection: KafkaConnection;
  readonly opened: OpenedRunScorer;
  readonly arbitrator: Arbitrator;
  readonly metrics: PipelineMetrics;
  readonly topology: Topology;
  readonly clients: PipelineClients;
  /** The global window's reader (arbitration.state kafka with a window policy). */
  readonly window?: GlobalWindow;
  readonly dashboard?: LiveCollector;
}

/**
 * The runtime behind `prism run`: build() wires config → Kafka connection → scorer, arbitrator,
 * metrics → topology → consumer and sinks; start() subscribes the lanes, serves HTTP and joins the
 * group; stop() drains and commits; fail() aborts in-flight work. Lifecycle (one `done`, shutdown
 * exactly once, broker watchdog) and the Kafka connection are shared with the trainers (src/runtime).
 */
export class PipelineRuntime {
  readonly topology: Topology;
  readonly metrics: PipelineMetrics;
  private readonly config: PrismConfig;
  private readonly log: Logger;
  private readonly source: KafkaSource;
  private readonly lifecycle: Lifecycle;
  private subscription: Subscription | undefined;
  private httpServer: RunningHttpServer | undefined;
  private stopSampling: (() => void) | undefined;
  private firstCommitSeen = false;
  private readonly abortedOnStop: { lane: string; reason: string; uncommitted: number }[] = [];

  private constructor(private readonly parts: PipelineParts) {
    this.config = parts.config;
    this.log = parts.log;
    this.topology = parts.topology;
    this.metrics = parts.metrics;
    this.lifecycle = new Lifecycle({
      log: parts.log,
      failMessage: 'pipeline failed; aborting in-flight work',
      onFail: () => {
        for (const lane of this.source.activeLanes()) lane.abort('pipeline failed');
      },
      shutdown: () => this.shutdown(),
      // Bounded: with the broker gone, leaving the group can hang; nothing is committed either way.
      failShutdownTimeoutMs: parts.config.lifecycle.shutdownTimeoutMs,
    });
    this.source = sourceFor(parts, (err) => void this.fail(err));
  }

  /** Connects and wires everything; consumes nothing until start(). */
  static async build(config: PrismConfig, options: StartOptions = {}): Promise<PipelineRuntime> {
    const log = options.log ?? rootLog.child({ component: 'run' });
    if (!readCommittedFix.install()) {
      log.warn(
        'kafkajs was loaded before its read_committed fix (bin/prism.mjs installs it first): records of aborted upstream transactions may reach the pipeline',
      );
    }
    const c = config;
    const connection = await connectKafka({ config: c.kafka, log });
    const opened: OpenedRunScorer = options.scorer
      ? { scorer: options.scorer }
      : await openRunScorer(
          c.scorer,
          log,
          {
            probe: c.probe,
            kafka: connection.kafka,
            topic: c.topics.modelUpdates,
            schemaRegistry: c.input.schemaRegistry,
          },
          { maxTokens: c.input.limits.maxTokens },
        );
    const arbitrator = arbitratorFromConfig(c.arbitration);
    // Records waiting for the warm-up are said so once, then every few seconds, and on release.
    arbitrator.holds.onEvent(({ message, kind, ...detail }) => log.info({ hold: kind, ...detail }, message));
    options.dashboard?.watchHolding(() => arbitrator.holds.snapshot());
    // The source is built after the metrics that read from it.
    const runtimeRef: { current?: PipelineRuntime } = {};
    const metrics = metricsFor(c, opened, arbitrator, {
      lanes: () => runtimeRef.current?.source.activeLanes() ?? [],
      globalRouted: () => runtimeRef.current?.parts.window?.routedCounts(),
    });
    const dashboard = options.dashboard;
    const topology = buildTopology({
      config: c,
      scorer: opened.scorer,
      arbitrator,
      ...pipelineCodecs(c),
      metrics,
      log,
      onDecided: dashboard && ((b) => dashboard.observeDecided(b)),
    });
    log.info({ topology: topology.describe().split('\n') }, 'topology');
    const clients = await openClients(c, connection, metrics, log);
    const window = await globalWindowFor(c, connection, clients.admin, arbitrator, opened.scorer, log);
    const parts = {
      config: c,
      log,
      connection,
      opened,
      arbitrator,
      metrics,
      topology,
      clients,
      window,
      dashboard,
    };
    runtimeRef.current = new PipelineRuntime(parts);
    return runtimeRef.current;
  }

  get done(): Promise<void> {
    return this.lifecycle.done;
  }

  get http(): RunningHttpServer | undefined {
    return this.httpServer;
  }

  readiness(): Readiness {
    const c = this.config;
    const r = readinessOf(this.source.status(), Date.now(), c.http.brokerStaleMs, this.lifecycle.stopping);
    // Informational: held records do not make the process unready, but say why nothing is routed yet.
    const out = { ...r, detail: { ...r.detail, warmup: this.parts.arbitrator.holds.snapshot() } };
    const scorerWhy = this.parts.opened.readiness?.(); // scorer.kind torch: why the service is away
    return scorerWhy === undefined ? out : { ...out, ready: false, reasons: [...out.reasons, scorerWhy] };
  }

  /** Subscribes the lanes, serves HTTP, joins the group and starts the broker watchdog. */
  async start(): Promise<void> {
    const c = this.config;
    this.subscription = this.source.lanes$.pipe(mergeMap((lane) => this.runLane(lane))).subscribe({
      error: (err: unknown) => void this.fail(err instanceof Error ? err : new Error(String(err))),
    });
    const dashboard = this.parts.dashboard;
    this.httpServer = c.http.enabled
      ? await startHttpServer({
          host: c.http.host,
          port: c.http.port,
          registry: this.metrics.registry,
          healthy: () => !this.lifecycle.failed,
          readiness: () => this.readiness(),
          log: this.log,
          routes: dashboard ? [dashboardRoutes(dashboard)] : [],
          authToken: resolveAuthToken(c.http),
          maxBodyBytes: c.http.maxBodyBytes,
          rateLimit: { perSecond: c.http.rateLimitPerSecond, burst: c.http.rateLimitBurst },
        })
      : undefined;
    this.stopSampling = dashboard?.startSampling({
      intervalMs: 2000,
      lag: () => pipelineLag(this.metrics),
    });
    try {
      // The global window first: no decision before it holds what the scores topic has.
      const restored = await this.parts.window?.start();
      if (restored !== undefined) {
        this.metrics.windowRestoreSeconds.set(restored.seconds);
        const probe = this.parts.opened.scorer;
        // Warm before the first record is read: the first micro-batch is decided without a hold.
        const warm = this.parts.arbitrator.isWarm({
          modelId: probe.probeModelId,
          version: probe.probeModelVersion,
        });
        this.log.info({ ...restored, warm }, 'global window ready');
      }
      await this.source.start();
    } catch (err) {
      await this.fail(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    // Short broker outages are ridden out (kafkajs reconnects, sinks retry); a long one is fatal.
    // A broker that answers the probe never expires the patience, however quiet the consumer is.
    this.lifecycle.watchBroker(
      () => this.source.status().lastBrokerOkAt,
      c.kafka.unavailablePatienceMs,
      adminProbe(this.parts.connection.kafka),
    );
  }

  /** Graceful: stop fetching, drain and commit (bounded by lifecycle.shutdownTimeoutMs), leave the group. */
  async stop(reason = 'stop requested', opts: StopOptions = {}): Promise<void> {
    const first = !this.lifecycle.stopping;
    if (first) {
      this.log.info(
        { reason, timeoutMs: this.config.lifecycle.shutdownTimeoutMs },
        opts.abortInFlight === true
          ? 'stopping: aborting in-flight batches (their records are re-read on restart), then leaving the group'
          : 'stopping: draining in-flight batches, then leaving the group',
      );
    }
    const stopped = this.lifecycle.stop();
    // After stop() began (lanes now drain), so the aborted lanes are counted in stopReport().
    if (first && opts.abortInFlight === true)
      for (const lane of this.source.activeLanes()) lane.abort(`stopped (${reason})`);
    return stopped;
  }

  /** Fatal: abort in-flight lanes (nothing more commits), release everything, reject `done`. */
  fail(err: Error): Promise<void> {
    return this.lifecycle.fail(err);
  }

  /** The handle `prism run`, the demo and the tests hold. */
  handle(): PipelineHandle {
    return {
      topology: this.topology,
      metrics: this.metrics,
      http: this.httpServer,
      done: this.done,
      readiness: () => this.readiness(),
      stop: (reason, opts) => this.stop(reason, opts),
      fail: (err) => this.fail(err),
      stopReport: () => ({ aborted: [...this.abortedOnStop] }),
    };
  }

  private runLane(lane: PartitionLane): Observable<Committed> {
    const { metrics, log } = this;
    metrics.observeCommittedPosition(lane.topic, lane.partition, lane.startOffset?.toString() ?? null);
    return this.topology.lane(lane.records$, lane.sink).pipe(
      takeUntil(lane.aborted$),
      tap((committed) => {
        lane.ack(committed.outputs.length);
        metrics.observeCommitted(committed);
        this.noteFirstCommit(committed);
      }),
      catchError((err: unknown) => {
        // A zombie or aborted lane ends quietly: its uncommitted records belong to the next owner.
        if (err instanceof SinkError && (err.code === 'PRODUCER_FENCED' || err.code === 'LANE_ABORTED')) {
          log.warn(
            { lane: lane.key, code: err.code, err: err.message },
            'lane stopped without committing the rest',
          );
          lane.abort(err.code);
          return EMPTY;
        }
        throw err;
      }),
      finalize(() => {
        // During a stop: an aborted lane, or one whose input ended with records never committed
        // (held for the warm-up), leaves work for the partition's next owner; say so at the end.
        if (this.lifecycle.stopping && !this.lifecycle.failed && (lane.aborted !== null || lane.inFlight > 0))
          this.abortedOnStop.push({
            lane: lane.key,
            reason: lane.aborted ?? 'closed with records uncommitted',
            uncommitted: lane.inFlight,
          });
        lane
          .finish()
          .catch((e: unknown) =>
            log.warn({ lane: lane.key, err: errorMessage(e) }, 'closing lane sink failed'),
          );
        log.info({ lane: lane.key, aborted: lane.aborted }, 'lane closed');
      }),
    );
  }

  /** Logs the first committed micro-batch once: the time from process start to the first decision. */
  private noteFirstCommit(committed: Committed): void {
    if (this.firstCommitSeen) return;
    this.firstCommitSeen = true;
    const decided = committed.outputs.find((o) => o.route !== 'DLQ');
    this.log.info(
      {
        uptimeSeconds: Number(process.uptime().toFixed(3)),
        records: committed.outputs.length,
        windowSize: decided ? Number(decided.headers['prism.window.size'] ?? 0) : null,
        state: this.config.arbitration.state,
      },
      'first micro-batch committed',
    );
  }

  /** Releases everything, in dependency order; runs once (the lifecycle guarantees it). */
  private async shutdown(): Promise<void> {
    const { config: c, log, parts } = this;
    await this.source
      .stop(c.lifecycle.shutdownTimeoutMs)
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'consumer stop failed'));
    this.subscription?.unsubscribe();
    await parts.window?.stop();
    await parts.clients.aloProducer?.disconnect().catch(() => undefined);
    await parts.clients.admin.disconnect().catch(() => undefined);
    this.stopSampling?.();
    await this.httpServer?.close();
    await parts.opened
      .stop?.()
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'probe follow stop failed'));
    parts.opened.scorer.dispose();
  }
}

/** Builds and starts the pipeline of `prism run`; see PipelineRuntime. */
export async function startPipeline(
  config: PrismConfig,
  options: StartOptions = {},
): Promise<PipelineHandle> {
  const runtime = await PipelineRuntime.build(config, options);
  await runtime.start();
  return runtime.handle();
}

function metricsFor(
  c: PrismConfig,
  opened: OpenedRunScorer,
  arbitrator: Arbitrator,
  live: {
    lanes: () => readonly PartitionLane[];
    globalRouted: () => { readonly sft: number; readonly rl: number } | undefined;
  },
): PipelineMetrics {
  const scorer = opened.scorer;
  const probe = () => ({ modelId: scorer.probeModelId, version: scorer.probeModelVersion });
  const windows = (): readonly WindowSnapshot[] =>
    arbitrator.policy.usesWindow
      ? arbitrator.snapshot()
      : [{ probe: probe(), size: 0, warm: true, threshold: c.arbitration.threshold ?? null }];
  const metrics = new PipelineMetrics(
    {
      windows,
      liveTensors: opened.liveTensors,
      inFlight: () => new Map(live.lanes().map((l) => [l.partition, l.inFlight])),
      globalRouted: live.globalRouted,
    },
    { metric: c.arbitration.metric, policy: c.arbitration.policy },
  );
  for (const m of opened.metrics ?? []) metrics.registry.registerMetric(m);
  metrics.setScorerInfo(scorer);
  return metrics;
}

/**
 * arbitration.state kafka: makes sure the scores topic exists (it is written in every transaction),
 * and, for a window policy, the reader that keeps the global window from it.
 */
async function globalWindowFor(
  c: PrismConfig,
  connection: KafkaConnection,
  admin: Admin,
  arbitrator: Arbitrator,
  scorer: Scorer,
  log: Logger,
): Promise<GlobalWindow | undefined> {
  const a = c.arbitration;
  if (a.state !== 'kafka') return undefined;
  const spec = prismTopicSpecs(c.topics, {
    scoresRetention: { ms: a.scoresRetentionMs, bytes: a.scoresRetentionBytes },
  }).filter((s) => s.name === c.topics.scores);
  try {
    await ensureScoresTopic(admin, spec);
  } catch (err) {
    throw new ArbitrationStateError(
      'SCORES_TOPIC_UNAVAILABLE',
      `topics.scores "${c.topics.scores}" is missing and could not be created (${errorMessage(err)}): create it with "prism topics create", or set arbitration.state local`,
      { cause: err },
    );
  }
  if (!arbitrator.policy.usesWindow) return undefined;
  return new GlobalWindow({
    kafka: connection.kafka,
    admin,
    topic: c.topics.scores,
    group: c.consumer.groupId,
    arbitrator,
    current: () => ({ modelId: scorer.probeModelId, version: scorer.probeModelVersion }),
    windowSize: a.window,
    restoreTimeoutMs: a.restoreTimeoutMs,
    log: log.child({ component: 'global-window' }),
  });
}

/**
 * Creates the scores topic if missing and waits until every partition has a leader. kafkajs'
 * waitForLeaders throws when a broker's metadata still lags the controller (KRaft, a loaded
 * machine: UNKNOWN_TOPIC_OR_PARTITION for a moment), so leaders are polled here instead.
 */
async function ensureScoresTopic(admin: Admin, specs: readonly TopicSpec[]): Promise<void> {
  let lastError: unknown;
  const deadline = Date.now() + 30_000;
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      await ensureTopics(admin, specs);
    } catch (err) {
      lastError = err;
    }
    const md = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) }).catch((err: unknown) => {
      lastError = err;
      return undefined;
    });
    const partitions = md?.topics.flatMap((t) => t.partitions) ?? [];
    if (md !== undefined && partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
    if (Date.now() > deadline) throw lastError ?? new Error('scores topic partitions have no leader');
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

async function openClients(
  c: PrismConfig,
  connection: KafkaConnection,
  metrics: PipelineMetrics,
  log: Logger,
): Promise<PipelineClients> {
  const { kafka, security } = connection;
  const consumer: Consumer = kafka.consumer({
    groupId: c.consumer.groupId,
    sessionTimeout: c.consumer.sessionTimeoutMs,
    rebalanceTimeout: c.consumer.rebalanceTimeoutMs,
    heartbeatInterval: c.consumer.heartbeatIntervalMs,
    maxWaitTimeInMs: c.consumer.maxWaitTimeMs,
    maxBytesPerPartition: c.consumer.maxBytesPerPartition,
    readUncommitted: false,
    allowAutoTopicCreation: false,
  });
  const admin: Admin = kafka.admin();
  await admin.connect();
  // Outputs a topic would refuse are written without their payload, never retried for ever.
  const limits = await TopicLimits.describe(admin, {
    input: c.topics.trajectories,
    outputs: [c.topics.sft, c.topics.rl, c.topics.dlq],
    dlq: c.topics.dlq,
    log,
  });
  if (c.delivery.mode === 'exactly-once') {
    const opener = transactionalOpener({
      kafka,
      admin,
      brokers: c.kafka.brokers,
      clientId: c.kafka.clientId,
      security,
      groupId: c.consumer.groupId,
      transactionalIdPrefix: c.delivery.transactionalIdPrefix,
      transactionTimeoutMs: c.delivery.transactionTimeoutMs,
      maxAttempts: c.delivery.maxAttempts,
      log,
      onTransaction: (result) => metrics.transactions.inc({ result }),
      limits,
    });
    return { consumer, admin, opener };
  }
  const aloProducer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await aloProducer.connect();
  const opener = atLeastOnceOpener(aloProducer, consumer, { limits, log });
  return { consumer, admin, opener, aloProducer };
}

function sourceFor(p: PipelineParts, onFatal: (err: Error) => void): KafkaSource {
  const { config: c, metrics } = p;
  return new KafkaSource({
    consumer: p.clients.consumer,
    topic: c.topics.trajectories,
    fromBeginning: c.consumer.fromBeginning,
    partitionsConsumedConcurrently: c.consumer.partitionsConsumedConcurrently,
    heartbeatIntervalMs: c.consumer.heartbeatIntervalMs,
    highWatermark: c.consumer.highWatermark,
    lowWatermark: c.consumer.lowWatermark,
    maxInFlightBytes: c.consumer.maxInFlightBytes,
    // Records held for the warm-up must fit whatever their size (else: a pause that never resumes).
    byteFloorRecords:
      c.arbitration.policy !== 'threshold' && c.arbitration.calibrate === undefined
        ? c.arbitration.warmup
        : 1,
    drainTimeoutMs: c.lifecycle.drainTimeoutMs,
    opener: p.clients.opener,
    log: p.log,
    hooks: {
      onBatch: (topic, partition, hw) => metrics.observeHighWatermark(topic, partition, hw),
      onRecords: (topic, partition, n) => metrics.recordsIn.inc({ topic, partition: String(partition) }, n),
      onRebalance: () => metrics.rebalances.inc(),
      onFatal,
    },
  });
}
