import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
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
import type { WindowSnapshot } from '../src/arbitration/arbitrator.ts';
import { arbitratorFromConfig } from '../src/arbitration/from-config.ts';
import type { PrismConfig } from '../src/config/schema.ts';
import type { PartitionLane } from '../src/consumer/lane.ts';
import { readinessOf } from '../src/consumer/readiness.ts';
import { KafkaSource, type LaneOpener } from '../src/consumer/source.ts';
import { PrismError, errorMessage } from '../src/errors.ts';
import { resolveAuthToken } from '../src/http/guard.ts';
import { startHttpServer, type Readiness, type RunningHttpServer } from '../src/http/server.ts';
import { createKafka, kafkaSecurityOf } from '../src/kafka/client.ts';
import { verifyKafkaAccess } from '../src/kafka/security/verify.ts';
import { startBrokerWatchdog, type BrokerWatchdog } from '../src/kafka/watchdog.ts';
import { log as rootLog, type Logger } from '../src/log.ts';
import { PipelineMetrics } from '../src/metrics/pipeline-metrics.ts';
import { SinkError } from '../src/producer/errors.ts';
import { atLeastOnceOpener, transactionalOpener } from '../src/producer/openers.ts';
import type { Committed } from '../src/producer/types.ts';
import type { Scorer } from '../src/scorer/types.ts';
import { dashboardRoutes, pipelineLag, type LiveCollector } from '../src/dashboard/index.ts';
import { pipelineCodecs } from './codecs.ts';
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
  /** Graceful: stop fetching, drain and commit (bounded by lifecycle.shutdownTimeoutMs), leave the group. */
  stop(reason?: string): Promise<void>;
}

const readCommittedFix = createRequire(import.meta.url)('../src/consumer/read-committed-fix.cjs') as {
  install(): boolean;
};

/** The runtime behind `prism run`: wires config → kafkajs clients → topology → sinks, metrics and HTTP. */
export async function startPipeline(
  config: PrismConfig,
  options: StartOptions = {},
): Promise<PipelineHandle> {
  const log = options.log ?? rootLog.child({ component: 'run' });
  if (!readCommittedFix.install()) {
    log.warn(
      'kafkajs was loaded before its read_committed fix (bin/prism.mjs installs it first): records of aborted upstream transactions may reach the pipeline',
    );
  }
  const c = config;
  const security = kafkaSecurityOf({ security: c.kafka });
  if (security.enabled) {
    // Fail fast (exit 2) on a wrong password or an untrusted CA instead of retrying for minutes.
    await verifyKafkaAccess({
      brokers: c.kafka.brokers,
      clientId: c.kafka.clientId,
      security: c.kafka,
      timeoutMs: c.kafka.authTimeoutMs,
    });
    log.info({ kafkaSecurity: security.describe }, 'kafka connection secured');
  }
  const kafka: Kafka = createKafka({
    brokers: c.kafka.brokers,
    clientId: c.kafka.clientId,
    connectionTimeoutMs: c.kafka.connectionTimeoutMs,
    requestTimeoutMs: c.kafka.requestTimeoutMs,
    logger: log.child({ component: 'kafkajs' }),
    security,
  });
  const probeOptions = {
    probe: c.probe,
    kafka,
    topic: c.topics.modelUpdates,
    schemaRegistry: c.input.schemaRegistry,
  };
  const opened: OpenedRunScorer = options.scorer
    ? { scorer: options.scorer }
    : await openRunScorer(c.scorer, log, probeOptions);
  const scorer = opened.scorer;
  const arbitrator = arbitratorFromConfig(c.arbitration);
  const probe = () => ({ modelId: scorer.probeModelId, version: scorer.probeModelVersion });
  const windows = (): readonly WindowSnapshot[] =>
    arbitrator.policy.usesWindow
      ? arbitrator.snapshot()
      : [{ probe: probe(), size: 0, warm: true, threshold: c.arbitration.threshold ?? null }];

  // The source is built after the metrics that read from it.
  const sourceRef: { current?: KafkaSource } = {};
  const metrics = new PipelineMetrics(
    {
      windows,
      liveTensors: opened.liveTensors,
      inFlight: () => new Map((sourceRef.current?.activeLanes() ?? []).map((l) => [l.partition, l.inFlight])),
    },
    { metric: c.arbitration.metric, policy: c.arbitration.policy },
  );
  for (const m of opened.metrics ?? []) metrics.registry.registerMetric(m);
  metrics.scorerInfo.set(
    { backend: scorer.backend, probe_model: scorer.probeModelId, probe_version: scorer.probeModelVersion },
    1,
  );

  const codecs = pipelineCodecs(c);
  const dashboard = options.dashboard;
  const topology = buildTopology({
    config: c,
    scorer,
    arbitrator,
    ...codecs,
    metrics,
    log,
    onDecided: dashboard && ((b) => dashboard.observeDecided(b)),
  });
  log.info({ topology: topology.describe().split('\n') }, 'topology');

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
  let aloProducer: Producer | undefined;
  let opener: LaneOpener;
  await admin.connect();
  if (c.delivery.mode === 'exactly-once') {
    opener = transactionalOpener({
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
    });
  } else {
    aloProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await aloProducer.connect();
    opener = atLeastOnceOpener(aloProducer, consumer);
  }

  let stopping = false;
  let failed: Error | undefined;
  let settle: { resolve: () => void; reject: (e: Error) => void } = {
    resolve: () => undefined,
    reject: () => undefined,
  };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // A rejection nobody awaits yet must not crash the process before the CLI handles it.
  done.catch(() => undefined);

  const src = new KafkaSource({
    consumer,
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
    opener,
    log,
    hooks: {
      onBatch: (topic, partition, hw) => metrics.observeHighWatermark(topic, partition, hw),
      onRecords: (topic, partition, n) => metrics.recordsIn.inc({ topic, partition: String(partition) }, n),
      onRebalance: () => metrics.rebalances.inc(),
      onFatal: (err) => void fail(err),
    },
  });
  sourceRef.current = src;

  const runLane = (lane: PartitionLane): Observable<Committed> => {
    metrics.observeCommittedPosition(lane.topic, lane.partition, lane.startOffset?.toString() ?? null);
    return topology.lane(lane.records$, lane.sink).pipe(
      takeUntil(lane.aborted$),
      tap((committed) => {
        lane.ack(committed.outputs.length);
        metrics.observeCommitted(committed);
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
        lane
          .finish()
          .catch((err: unknown) =>
            log.warn({ lane: lane.key, err: errorMessage(err) }, 'closing lane sink failed'),
          );
        log.info({ lane: lane.key, aborted: lane.aborted }, 'lane closed');
      }),
    );
  };
  const subscription: Subscription = src.lanes$.pipe(mergeMap(runLane)).subscribe({
    error: (err: unknown) => void fail(err instanceof Error ? err : new Error(String(err))),
  });

  const http = c.http.enabled
    ? await startHttpServer({
        host: c.http.host,
        port: c.http.port,
        registry: metrics.registry,
        healthy: () => failed === undefined,
        readiness: () => readinessOf(src.status(), Date.now(), c.http.brokerStaleMs, stopping),
        log,
        routes: dashboard ? [dashboardRoutes(dashboard)] : [],
        authToken: resolveAuthToken(c.http),
        maxBodyBytes: c.http.maxBodyBytes,
        rateLimit: { perSecond: c.http.rateLimitPerSecond, burst: c.http.rateLimitBurst },
      })
    : undefined;
  const stopSampling = dashboard?.startSampling({ intervalMs: 2000, lag: () => pipelineLag(metrics) });

  const watchdog: { current?: BrokerWatchdog } = {};
  const shutdown = async (): Promise<void> => {
    watchdog.current?.stop();
    await src
      .stop(c.lifecycle.shutdownTimeoutMs)
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'consumer stop failed'));
    subscription.unsubscribe();
    await aloProducer?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    stopSampling?.();
    await http?.close();
    await opened
      .stop?.()
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'probe follow stop failed'));
    scorer.dispose();
  };

  async function fail(err: Error): Promise<void> {
    if (failed !== undefined || stopping) return;
    failed = err;
    stopping = true;
    log.error(
      { err: errorMessage(err), code: err instanceof PrismError ? err.code : undefined },
      'pipeline failed; aborting in-flight work',
    );
    for (const lane of src.activeLanes()) lane.abort('pipeline failed');
    // Bounded: with the broker gone, leaving the group can hang; nothing is committed either way.
    await Promise.race([
      shutdown(),
      new Promise((resolve) => setTimeout(resolve, c.lifecycle.shutdownTimeoutMs).unref()),
    ]);
    settle.reject(err);
  }

  try {
    await src.start();
  } catch (err) {
    await fail(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
  // Short broker outages are ridden out (kafkajs reconnects, sinks retry); a long one is fatal.
  watchdog.current = startBrokerWatchdog({
    lastOkAt: () => src.status().lastBrokerOkAt,
    patienceMs: c.kafka.unavailablePatienceMs,
    onExpired: (err) => void fail(err),
  });

  return {
    topology,
    metrics,
    http,
    done,
    readiness: () => readinessOf(src.status(), Date.now(), c.http.brokerStaleMs, stopping),
    async stop(reason = 'stop requested') {
      if (stopping) return done.catch(() => undefined);
      stopping = true;
      log.info(
        { reason, timeoutMs: c.lifecycle.shutdownTimeoutMs },
        'stopping: draining in-flight batches, then leaving the group',
      );
      await shutdown();
      settle.resolve();
    },
  };
}
