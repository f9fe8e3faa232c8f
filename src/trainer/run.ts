import type { Consumer, ConsumerRunConfig, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { selectBackend, type BackendChoice } from '../backend/select.ts';
import { DEFAULT_LIMITS, type InputConfig } from '../config/input.ts';
import type { KafkaConfig } from '../config/kafka.ts';
import type { TopicsConfig } from '../config/topics.ts';
import type { RlTrainerConfig, SftTrainerConfig, TrainerConfig } from '../config/trainer.ts';
import { PrismError, errorMessage } from '../errors.ts';
import { ensureTopics, prismTopicSpecs } from '../kafka/admin/topics.ts';
import { toBrokerError } from '../kafka/errors.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { saveModel } from '../model-store/llama.ts';
import { bootstrap, type Booted } from './bootstrap.ts';
import { writeOptimizerState } from './checkpoint/optimizer-state.ts';
import { engineSequence } from './engines/common.ts';
import { RlEngine } from './engines/rl.ts';
import { SftEngine } from './engines/sft.ts';
import { IdLog } from './id-log.ts';
import { TrainerCodecs } from './kafka/codecs.ts';
import { KafkaTrainerSink } from './kafka/sink.ts';
import { RetryingTrainerSink, isGenerationErrorDeep } from './kafka/retrying-sink.ts';
import { isBrokerUnavailableError } from '../producer/errors.ts';
import { connectKafka } from '../runtime/kafka.ts';
import { adminProbe } from '../kafka/watchdog.ts';
import { TopicLimits } from '../kafka/admin/topic-limits.ts';
import { Lifecycle } from '../runtime/lifecycle.ts';
import { runtimeReadiness, type ReadinessWording } from '../runtime/readiness.ts';
import { withHeartbeat } from '../consumer/heartbeat.ts';
import { ConsumerRerun } from '../consumer/rerun.ts';
import { TrainerLoop, type LoopOptions } from './loop.ts';
import { startHttpServer, type RunningHttpServer } from '../http/server.ts';
import { TrainerMetrics } from './metrics.ts';
import type { InputRecord, Rejected, StepEngine, TrainerKind } from './types.ts';

/** The config sections a trainer reads (a subset of the root PrismConfig). */
export interface TrainerRunConfig {
  kafka: KafkaConfig;
  topics: TopicsConfig;
  input?: Partial<Pick<InputConfig, 'schemaRegistry' | 'limits'>>;
  trainer: TrainerConfig;
}

export interface TrainerRunOptions {
  log?: Logger;
  /** Override trainer.backend (tests pass 'cpu'); 'keep' leaves the current tfjs backend alone. */
  backend?: BackendChoice | 'keep';
}

export interface TrainerHandle {
  readonly kind: TrainerKind;
  readonly loop: TrainerLoop<unknown>;
  readonly booted: Booted;
  /** Port of /metrics, or null when disabled. */
  readonly metricsPort: number | null;
  /** Resolves when the trainer stopped cleanly, rejects on a fatal error. */
  readonly done: Promise<void>;
  /** Graceful stop: finish the micro-batch in progress, checkpoint applied steps, commit, disconnect. */
  stop(): Promise<void>;
}

const TRAINER_WORDING: ReadinessWording = {
  failed: 'trainer failed',
  notJoined: 'consumer group not joined yet',
};

/** Runs `fn` calls one at a time (eachBatch and the idle ticker share the loop). */
function serializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** What readiness reads while the trainer runs (also updated by the consumer's events and the loop). */
interface TrainerStatus {
  joined: boolean;
  step: number;
  lastBrokerOkAt: number;
  stopping: boolean;
}

/** /metrics, /healthz and /readyz of the trainer, or null when trainer.<kind>.metrics is disabled. */
async function startTrainerServer(
  cfg: SftTrainerConfig | RlTrainerConfig,
  metrics: TrainerMetrics,
  status: TrainerStatus,
  failed: () => boolean,
  log: Logger,
): Promise<RunningHttpServer | null> {
  if (!cfg.metrics.enabled) return null;
  // Not ready when no broker request succeeded for a session timeout (the member would be evicted).
  const brokerStaleMs = cfg.sessionTimeoutMs;
  return startHttpServer({
    host: cfg.metrics.host,
    port: cfg.metrics.port,
    registry: metrics.registry,
    healthy: () => !failed(),
    readiness: () =>
      runtimeReadiness(
        { failed: failed(), joined: status.joined, lastBrokerOkAt: status.lastBrokerOkAt },
        Date.now(),
        brokerStaleMs,
        TRAINER_WORDING,
        { step: status.step },
      ),
    log,
  });
}

/** Creates the trainer's topics when missing and reads the limits a dead letter must fit (issue 19). */
async function setUpTopics(
  kafka: Kafka,
  config: TrainerRunConfig,
  inputTopic: string,
  log: Logger,
): Promise<TopicLimits> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const wanted = new Set([inputTopic, config.topics.dlq, config.topics.modelUpdates]);
    await ensureTopics(
      admin,
      prismTopicSpecs(config.topics).filter((s) => wanted.has(s.name)),
    );
    // A dead letter the DLQ would refuse is written without its payload (issue 19).
    return await TopicLimits.describe(admin, {
      input: inputTopic,
      outputs: [config.topics.dlq],
      dlq: config.topics.dlq,
      log,
    });
  } catch (err) {
    throw toBrokerError(config.kafka.brokers, 'trainer topic setup', err);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function trainerConsumer(kafka: Kafka, cfg: SftTrainerConfig | RlTrainerConfig): Consumer {
  return kafka.consumer({
    groupId: cfg.groupId,
    sessionTimeout: cfg.sessionTimeoutMs,
    rebalanceTimeout: Math.max(cfg.sessionTimeoutMs, 60_000),
    heartbeatInterval: Math.min(3000, Math.floor(cfg.sessionTimeoutMs / 3)),
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
  });
}

/** The step engine of `kind` (RL: clipped policy gradient with the KL reference) and its advantage setting. */
function stepEngine(
  kind: TrainerKind,
  cfg: SftTrainerConfig | RlTrainerConfig,
  booted: Booted,
  maxTokens: number,
  log: Logger,
): { engine: StepEngine<unknown>; advantage: LoopOptions['advantage'] } {
  const seq = engineSequence(booted.model.config, booted.tokenizer, cfg.maxSeqLen, maxTokens);
  if (seq.maxSeqLen < cfg.maxSeqLen) {
    log.warn(
      {
        maxSeqLen: cfg.maxSeqLen,
        maxPositionEmbeddings: booted.model.config.max_position_embeddings,
        tokens: seq.maxSeqLen,
      },
      'trainer maxSeqLen capped at the model limit (max_position_embeddings + 1 tokens)',
    );
  }
  if (kind === 'rl') {
    const rl = cfg as RlTrainerConfig;
    const engine = new RlEngine(
      booted.model,
      seq,
      { clipLow: rl.clip.low, clipHigh: rl.clip.high, klCoef: rl.kl.coef, aggregation: rl.aggregation },
      booted.reference,
    ) as StepEngine<unknown>;
    return { engine, advantage: rl.advantage };
  }
  return { engine: new SftEngine(booted.model, seq) as StepEngine<unknown>, advantage: undefined };
}

/** The training loop over the booted model: schedule, accumulation, checkpoints, sink. */
function trainerLoop(
  kind: TrainerKind,
  cfg: SftTrainerConfig | RlTrainerConfig,
  booted: Booted,
  parts: {
    engine: StepEngine<unknown>;
    advantage: LoopOptions['advantage'];
    sink: RetryingTrainerSink;
    metrics: TrainerMetrics;
    log: Logger;
  },
): TrainerLoop<unknown> {
  const idLog = cfg.idLog === undefined ? undefined : new IdLog(cfg.idLog);
  idLog?.start(booted.start.step, booted.start.version);
  const o = cfg.optimizer;
  return new TrainerLoop<unknown>(
    {
      trainer: kind,
      modelId: cfg.modelId,
      consumerGroup: cfg.groupId,
      microBatchSize: cfg.microBatchSize,
      maxBatchWaitMs: cfg.maxBatchWaitMs,
      gradAccumulation: o.gradAccumulation,
      maxGradNorm: o.maxGradNorm,
      schedule: {
        lr: o.lr,
        warmupSteps: o.warmupSteps,
        decay: o.decay,
        decaySteps: o.decaySteps,
        minLrRatio: o.minLrRatio,
      },
      checkpointEverySteps: cfg.checkpoint.everySteps,
      checkpointEverySeconds: cfg.checkpoint.everySeconds,
      keepCheckpoints: cfg.checkpoint.keep,
      advantage: parts.advantage,
    },
    {
      engine: parts.engine,
      params: booted.model.namedWeights(),
      optimizer: booted.optimizer,
      store: booted.store,
      writeWeights: (dir) => saveModel(booted.model, dir),
      writeOptimizer: (dir) => writeOptimizerState(booted.optimizer, dir),
      sink: parts.sink,
      ledger: booted.ledger,
      idLog,
      metrics: parts.metrics,
      log: parts.log,
    },
    booted.start,
  );
}

/** Starts `prism train sft|rl`: consumes, trains, checkpoints and publishes until stop() or a fatal error. */
export async function startTrainer(
  kind: TrainerKind,
  config: TrainerRunConfig,
  opts: TrainerRunOptions = {},
): Promise<TrainerHandle> {
  const cfg: SftTrainerConfig | RlTrainerConfig = kind === 'sft' ? config.trainer.sft : config.trainer.rl;
  const log = (opts.log ?? rootLog).child({ component: `trainer-${kind}`, modelId: cfg.modelId });
  const inputTopic = kind === 'sft' ? config.topics.sft : config.topics.rl;
  const backend = opts.backend ?? config.trainer.backend;
  if (backend !== 'keep') await selectBackend(backend, { logger: log });

  const booted = await bootstrap({
    kind,
    cfg,
    checkpointRoot: config.trainer.checkpointRoot,
    sftModelId: config.trainer.sft.modelId,
    inputTopic,
    log,
  });
  const metrics = new TrainerMetrics(kind);
  let fatal: unknown = null;
  let server: RunningHttpServer | null = null;
  const status: TrainerStatus = {
    joined: false,
    step: booted.start.step,
    lastBrokerOkAt: 0,
    stopping: false,
  };
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  try {
    server = await startTrainerServer(cfg, metrics, status, () => fatal !== null, log);
    const codecs = TrainerCodecs.fromConfig(
      config.input?.schemaRegistry ?? {},
      { input: inputTopic, modelUpdates: config.topics.modelUpdates },
      config.input?.limits?.maxBytes,
    );
    const { kafka } = await connectKafka({
      config: config.kafka,
      clientId: `${config.kafka.clientId}-trainer-${kind}`,
      log,
    });
    const limits = await setUpTopics(kafka, config, inputTopic, log);
    // Not idempotent: DLQ duplicates after a crash are tolerated, ModelUpdates are keyed (latest wins).
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    consumer = trainerConsumer(kafka, cfg);
    const sink = new RetryingTrainerSink(
      new KafkaTrainerSink({
        producer,
        consumer,
        codecs,
        dlqTopic: config.topics.dlq,
        modelUpdatesTopic: config.topics.modelUpdates,
        modelId: cfg.modelId,
        limits,
        log,
      }),
      {
        patienceMs: config.kafka.unavailablePatienceMs,
        log,
        stopped: () => status.stopping,
        // Eviction is not fatal: the checkpoint holds the offsets; after the rejoin GROUP_JOIN seeks there.
        onCommitSkipped: () => metrics.commitsSkipped.inc(),
      },
    );
    const maxTokens = config.input?.limits?.maxTokens ?? DEFAULT_LIMITS.maxTokens;
    const { engine, advantage } = stepEngine(kind, cfg, booted, maxTokens, log);
    const loop = trainerLoop(kind, cfg, booted, { engine, advantage, sink, metrics, log });
    return await run(kind, {
      consumer,
      producer,
      loop,
      booted,
      metrics,
      codecs,
      server,
      log,
      inputTopic,
      cfg,
      status,
      patienceMs: config.kafka.unavailablePatienceMs,
      brokerProbe: adminProbe(kafka),
      setFatal: (e) => (fatal = e),
    });
  } catch (err) {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await server?.close();
    booted.dispose();
    throw err;
  }
}

interface RunParts {
  consumer: Consumer;
  producer: Producer;
  loop: TrainerLoop<unknown>;
  booted: Booted;
  metrics: TrainerMetrics;
  codecs: TrainerCodecs;
  server: RunningHttpServer | null;
  status: TrainerStatus;
  patienceMs: number;
  /** Asks the broker directly while the consumer is silent (evicted, or busy training). */
  brokerProbe: () => Promise<void>;
  log: Logger;
  inputTopic: string;
  cfg: SftTrainerConfig | RlTrainerConfig;
  setFatal: (err: unknown) => void;
}

/**
 * The records of a fetched batch this lineage has not seen yet, decoded; undecodable ones are
 * rejected (dead-lettered by the loop). Stops early when the consumer stops or the batch goes stale.
 */
async function decodeBatch(
  batch: EachBatchPayload['batch'],
  booted: Booted,
  codecs: TrainerCodecs,
  o: { resolveOffset: (offset: string) => void; running: () => boolean },
): Promise<{ records: InputRecord[]; rejected: Rejected[] }> {
  const records: InputRecord[] = [];
  const rejected: Rejected[] = [];
  for (const m of batch.messages) {
    if (!o.running()) break;
    if (booted.ledger.deliver(batch.topic, batch.partition, m.offset)) {
      const base = {
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key,
        raw: m.value,
        headers: (m.headers ?? {}) as InputRecord['headers'],
      };
      try {
        records.push({ ...base, value: await codecs.decodeScored(m.value) });
      } catch (err) {
        if (!(err instanceof PrismError)) throw err;
        rejected.push({ record: base, error: err });
      }
    }
    o.resolveOffset(m.offset);
  }
  return { records, rejected };
}

/**
 * Group membership and broker liveness for readiness and the watchdog; on joining, seeks every
 * assigned partition to this lineage's position (past every record it trained, dead-lettered or holds).
 */
function trackMembership(
  p: RunParts,
  booted: Booted,
  onCrash: (restart: boolean, error: Error) => void,
): void {
  const { consumer, inputTopic, log } = p;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    p.status.joined = true;
    const parts = payload.memberAssignment[inputTopic] ?? [];
    for (const partition of parts) {
      const progress = booted.ledger.get(inputTopic, partition);
      if (progress === undefined) continue;
      const offset = progress.fetchPosition.toString();
      consumer.seek({ topic: inputTopic, partition, offset });
      log.info({ partition, offset }, 'seek to lineage position');
    }
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    p.status.joined = false;
    onCrash(payload.restart, payload.error);
  });
  consumer.on(consumer.events.REBALANCING, () => {
    p.status.joined = false;
  });
  const brokerOk = (): void => {
    p.status.lastBrokerOkAt = Date.now();
  };
  consumer.on(consumer.events.REQUEST, brokerOk);
  consumer.on(consumer.events.HEARTBEAT, brokerOk);
}

/** The trainer's idle ticker, shared with its shutdown. */
interface TickerTimers {
  ticker: NodeJS.Timeout | undefined;
  wake: () => void;
}

function pauseQuietly(consumer: Consumer, topic: string, log: Logger): void {
  try {
    consumer.pause([{ topic }]);
  } catch (e) {
    log.warn({ err: errorMessage(e) }, 'consumer not running: nothing to pause');
  }
}

/** Stop: checkpoint applied steps, then disconnect; fail: skip the checkpoint, bounded disconnect. */
function trainerLifecycle(
  p: RunParts,
  serial: <T>(fn: () => Promise<T>) => Promise<T>,
  timers: TickerTimers,
): Lifecycle {
  const { consumer, producer, loop, booted, log, inputTopic } = p;
  return new Lifecycle({
    log,
    failMessage: 'trainer failed',
    onFail: (err) => p.setFatal(err),
    shutdown: async (cause) => {
      const failed = cause !== undefined;
      p.status.stopping = failed;
      if (timers.ticker) clearTimeout(timers.ticker);
      timers.wake();
      let checkpointError: unknown;
      try {
        // kafkajs throws here while a crashed consumer restarts (broker away): nothing to pause then.
        pauseQuietly(consumer, inputTopic, log);
        // Applied steps since the last checkpoint are saved (and their offsets committed); queued
        // or accumulating records are not in it and will be re-read by the next run.
        if (!failed) await serial(() => loop.checkpoint());
      } catch (e) {
        checkpointError = e;
      }
      const disconnect = async (): Promise<void> => {
        await consumer
          .disconnect()
          .catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'consumer disconnect failed'));
        await producer
          .disconnect()
          .catch((e: unknown) => log.warn({ err: errorMessage(e) }, 'producer disconnect failed'));
      };
      // After a failure (the broker may be gone) leaving the group must not hold the exit.
      await (failed || checkpointError !== undefined
        ? Promise.race([disconnect(), new Promise((r) => setTimeout(r, 10_000).unref())])
        : disconnect());
      await p.server?.close();
      booted.dispose();
      if (checkpointError !== undefined) throw checkpointError;
      if (!failed) log.info({ step: loop.step }, 'trainer stopped');
    },
  });
}

/** Runs the consumer again when kafkajs gave up on it only because no broker answered (see ConsumerRerun). */
function consumerRerun(p: RunParts, lifecycle: Lifecycle, config: () => ConsumerRunConfig): ConsumerRerun {
  return new ConsumerRerun({
    consumer: p.consumer,
    config,
    delayMs: 1000,
    log: p.log,
    stopping: () => lifecycle.stopping,
    onFatal: (e) => void lifecycle.fail(e),
  });
}

async function run(kind: TrainerKind, p: RunParts): Promise<TrainerHandle> {
  const { consumer, loop, booted, metrics, codecs, log, inputTopic } = p;
  const serial = serializer();
  loop.onStep((s) => {
    p.status.step = s.step;
  });
  const timers: TickerTimers = { ticker: undefined, wake: () => undefined };
  const lifecycle = trainerLifecycle(p, serial, timers);
  const fail = (err: unknown): void => void lifecycle.fail(err);

  // kafkajs heartbeats only between batches, and its payload heartbeat() is the runner's
  // (it reads the group's current member/generation), so the latest one is kept for the ticker.
  let heartbeatFn: (() => Promise<void>) | undefined;
  const rerun = consumerRerun(p, lifecycle, () => runConfig);
  trackMembership(p, booted, (restart, error) => {
    // A restarted consumer gets a new runner; the old one's heartbeat must not be reused.
    heartbeatFn = undefined;
    if (!rerun.offer(error, restart)) fail(error);
  });

  const heartbeatEveryMs = Math.max(250, Math.min(3000, Math.floor(p.cfg.sessionTimeoutMs / 3)));
  // A heartbeat lost to a broker restart or a rebalance is not fatal: kafkajs rejoins on its
  // next request, and the lineage (not the group generation) decides what is trained.
  const beat = async (): Promise<void> => {
    if (heartbeatFn === undefined || lifecycle.stopping) return;
    await heartbeatFn().catch((err: unknown) => {
      if (!isBrokerUnavailableError(err) && !isGenerationErrorDeep(err)) throw err;
      log.warn({ err: errorMessage(err) }, 'heartbeat failed; the consumer will rejoin');
    });
  };

  const eachBatch = async ({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> => {
    if (lifecycle.stopping) return;
    heartbeatFn = heartbeat;
    // Waiting here for a ticker step/checkpoint would otherwise starve the membership.
    await withHeartbeat(
      beat,
      heartbeatEveryMs,
      serial(async () => {
        if (lifecycle.stopping) return;
        const { records, rejected } = await decodeBatch(batch, booted, codecs, {
          resolveOffset,
          running: () => isRunning() && !isStale(),
        });
        await loop.reject(rejected);
        await loop.offer(records);
        await loop.pump(beat);
        const progress = booted.ledger.get(batch.topic, batch.partition);
        if (progress !== undefined) {
          const hw = BigInt(batch.highWatermark);
          const lag = hw > progress.watermark ? hw - progress.watermark : 0n;
          metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(lag));
        }
      }),
    ).catch((err: unknown) => {
      fail(err);
    });
    timers.wake();
  };

  await consumer.connect();
  await consumer.subscribe({ topics: [inputTopic], fromBeginning: p.cfg.startFrom === 'earliest' });
  const runConfig: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch,
  };
  await consumer.run(runConfig);

  // Time-based work (partial batches, group expiry, checkpoint by time) when no records arrive.
  const schedule = (): void => {
    if (lifecycle.stopping) return;
    const wait = Math.min(Math.max(loop.nextDueIn(), 50), 1000);
    timers.ticker = setTimeout(() => {
      // Steps and checkpoints run here outside eachBatch: heartbeat between micro-batches (they
      // block the event loop) and on a timer while a checkpoint is written.
      serial(() => withHeartbeat(beat, heartbeatEveryMs, loop.pump(beat)))
        .then(schedule)
        .catch((err: unknown) => fail(err));
    }, wait);
  };
  timers.wake = () => {
    if (lifecycle.stopping || timers.ticker === undefined) return;
    clearTimeout(timers.ticker);
    schedule();
  };
  schedule();
  // kafkajs rides out short outages (the consumer restarts after a retriable crash, ConsumerRerun after
  // a coordinator lookup that found no broker); a long one is fatal.
  // An evicted member (or one whose steps take long) hears nothing from a healthy broker for a
  // while: the probe tells that apart from a broker that is gone (issue 19).
  lifecycle.watchBroker(() => p.status.lastBrokerOkAt, p.patienceMs, p.brokerProbe);
  log.info(
    { topic: inputTopic, group: p.cfg.groupId, step: loop.step, metricsPort: p.server?.port ?? null },
    'trainer started',
  );

  return {
    kind,
    loop,
    booted,
    metricsPort: p.server?.port ?? null,
    done: lifecycle.done,
    stop: () => lifecycle.stop(),
  };
}
