import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { selectBackend, type BackendChoice } from '../backend/select.ts';
import { generate } from '../gen/generate.ts';
import { withAdmin } from '../kafka/admin/connect.ts';
import { ensureTopics, prismTopicSpecs } from '../kafka/admin/topics.ts';
import { createKafka } from '../kafka/client.ts';
import { PLAINTEXT_SECURITY } from '../kafka/security/resolve.ts';
import { pidAlive } from '../kafka/local/process.ts';
import { DEFAULT_KAFKA_VERSION, type KafkaVersion } from '../kafka/local/versions.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { createSchemaRegistry } from '../schema-store/from-config.ts';
import { startDemoBroker, type DemoBroker } from './broker.ts';
import { startComponents, type Components } from './components.ts';
import { demoConfig } from './config.ts';
import { DemoError } from './errors.ts';
import { Guard, Teardown, waitUntil, watchEventLoop } from './lifecycle.ts';
import { buildSummary, publishOutcome } from './outcome.ts';
import { Phases, settleBoth } from './phases.ts';
import { produceStream } from './produce.ts';
import { DemoProgress, type LiveStatus } from './progress.ts';
import { demoSettings, type DemoFlags, type DemoSettings } from './settings.ts';
import type { DemoSummary, Phase } from './summary.ts';
import { ensureWarmStartModel, type WarmStartResult } from './warm-start.ts';

export interface DemoOptions extends DemoFlags {
  /** After the summary, keep everything running until Ctrl-C. */
  readonly keepRunning?: boolean;
  /** Work folder: log, checkpoints, summary.json, report. Default .prism/demo. */
  readonly dir?: string;
  /** HTML report path. Default <dir>/report.html. */
  readonly report?: string;
  readonly kafkaVersion?: KafkaVersion;
  /** tfjs backend of the scorer and the trainers (default auto: the fastest that works). */
  readonly backend?: BackendChoice;
  /** Where the summary goes (default stdout) and the progress (default stderr). */
  readonly out?: NodeJS.WritableStream;
  readonly err?: NodeJS.WriteStream;
}

/** No progress for this long while routing means something is wrong (the warm-up hold included). */
const ROUTING_STALL_MS = 240_000;
/** Trainers that stop moving are left as they are: the summary says what they did not train. */
const TRAINING_STALL_MS = 45_000;

function demoLogger(path: string): Logger {
  return pino(
    { name: 'prism-demo', level: process.env.PRISM_LOG_LEVEL || 'info', base: { pid: process.pid } },
    pino.destination({ dest: path, sync: true, append: false, mkdir: true }),
  );
}

const fmt = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));

/** Everything one run shares: where things go, what to stop, how to report. */
interface Run {
  readonly o: DemoOptions;
  readonly settings: DemoSettings;
  readonly dir: string;
  readonly log: Logger;
  readonly ui: DemoProgress;
  readonly phases: Phases;
  readonly teardown: Teardown;
  readonly guard: Guard;
  /** Set once the broker runs, for the forced exit and the exit hook. */
  broker: DemoBroker | undefined;
  brokerStopped: boolean;
}

/**
 * `prism demo`: own broker → warm-started tiny model → mixed stream → arbitrator + both trainers
 * in this process → summary, report. Everything started is stopped at the end, on error and on
 * Ctrl-C, in the order trainers, arbitrator, output reader, broker.
 */
export async function runDemo(o: DemoOptions = {}): Promise<DemoSummary> {
  const started = Date.now();
  const settings = demoSettings(o);
  const dir = resolve(o.dir ?? join('.prism', 'demo'));
  await mkdir(dir, { recursive: true });
  // Fresh checkpoints: the trainers must start from the warm-started model, not an older run.
  await rm(join(dir, 'checkpoints'), { recursive: true, force: true });
  const log = demoLogger(join(dir, 'demo.log'));
  // Component logs go to the demo log; stray ones on the shared logger would break the bars.
  if (!process.env.PRISM_LOG_LEVEL) rootLog.level = 'warn';
  // libtensorflow's C++ INFO lines (oneDNN, CPU features) are noise here.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const ui = new DemoProgress(o.err ?? process.stderr);
  const run: Run = {
    o,
    settings,
    dir,
    log,
    ui,
    phases: new Phases(),
    teardown: new Teardown(log, (l) => ui.line(l)),
    // A second Ctrl-C kills the broker outright: it is detached, nothing else would stop it.
    guard: new Guard(
      (l) => ui.line(l),
      () => brokerSignal(run, 'SIGKILL'),
    ),
    broker: undefined,
    brokerStopped: false,
  };
  const onExit = (): void => brokerSignal(run, 'SIGTERM');
  process.on('exit', onExit);
  const stopWatching = watchEventLoop(log);
  try {
    return await stages(run, started);
  } catch (err) {
    ui.close();
    await stopAll(run);
    throw run.guard.interrupted && !(err instanceof DemoError)
      ? new DemoError('DEMO_INTERRUPTED', 'interrupted; everything the demo started was stopped', {
          cause: err,
        })
      : err;
  } finally {
    stopWatching();
    run.guard.dispose();
    process.off('exit', onExit);
    log.flush();
  }
}

/** Last resort for a broker the teardown could not reach (forced exit, process.exit elsewhere). */
function brokerSignal(run: Run, signal: NodeJS.Signals): void {
  const b = run.broker;
  if (b !== undefined && !run.brokerStopped && pidAlive(b.state.pid)) process.kill(b.state.pid, signal);
}

async function stopAll(run: Run): Promise<void> {
  const failures = await run.teardown.runAll();
  if (failures.length > 0) run.ui.line(`some parts did not stop cleanly: ${failures.join('; ')}`);
}

/** What the set-up phase produced: the backend, the broker, the model and the demo's configuration. */
interface Prepared {
  readonly backend: Awaited<ReturnType<typeof selectBackend>>;
  readonly broker: DemoBroker;
  readonly model: WarmStartResult;
  readonly config: ReturnType<typeof demoConfig>;
}

/** What the stream phase measured. */
interface Streamed {
  readonly produced: number;
  readonly produceStart: number;
  readonly routedAt: number;
}

async function stages(run: Run, started: number): Promise<DemoSummary> {
  const { settings, ui, guard, phases, log } = run;
  ui.line(
    `prism demo (${settings.profile}): ${settings.stream.n} trajectories, ` +
      `${Math.round(settings.stream.conflictShare * 100)}% of tasks from conflict families`,
  );
  ui.line(`  work dir ${run.dir} (log: ${join(run.dir, 'demo.log')})`);
  const prepared = await prepare(run);
  const { broker, config } = prepared;

  // 3. Trainers, arbitrator, output reader; then the stream.
  const kafka = createKafka({
    brokers: [broker.address],
    clientId: 'prism-demo',
    logger: log.child({ component: 'kafkajs' }),
    security: PLAINTEXT_SECURITY,
  });
  ui.line('▸ starting the SFT and RL trainers (from the warm-started model) and the arbitrator');
  const c = await guard.race(
    phases.time('start arbitrator + trainers', () =>
      startComponents({ config, kafka, log, teardown: run.teardown, guard }),
    ),
  );
  if (c.dashboardUrl !== null) ui.line(`▸ live dashboard: ${c.dashboardUrl}`);
  const streamed = await streamAndDrain(run, kafka, c, config);

  // 5 + 6. Summary, report.
  return finish(run, started, prepared, c, streamed);
}

/** 1 + 2: backend, broker and model side by side (the JVM start is mostly waiting), then the topics. */
async function prepare(run: Run): Promise<Prepared> {
  const { settings, ui, guard, phases, log } = run;
  const backend = await selectBackend(run.o.backend ?? 'auto', { logger: log });
  ui.line(`  tfjs backend: ${backend.kind}`);

  const [broker, model] = await guard.race(brokerAndModel(run));
  const config = demoConfig({
    brokers: [broker.address],
    modelDir: model.dir,
    checkpointRoot: join(run.dir, 'checkpoints'),
    settings,
    backend: backend.kind,
  });
  await guard.race(
    phases.time('topics', () =>
      withAdmin(
        [broker.address],
        'create the demo topics',
        (admin) =>
          ensureTopics(admin, prismTopicSpecs(config.topics, { partitions: 3, replicationFactor: 1 })),
        // The demo's own broker is plaintext, whatever PRISM_KAFKA_SASL_* the shell has.
        { security: PLAINTEXT_SECURITY },
      ),
    ),
  );
  return { backend, broker, model, config };
}

/** 3 + 4: the stream, then every record routed (read back, committed), then trained; live status meanwhile. */
async function streamAndDrain(
  run: Run,
  kafka: ReturnType<typeof createKafka>,
  c: Components,
  config: Prepared['config'],
): Promise<Streamed> {
  const { settings, ui, guard, phases, log } = run;
  const n = settings.stream.n;
  let produced = 0;
  const ticker = setInterval(() => ui.live(liveStatus(c, n, produced)), 500);
  const produceStart = Date.now();
  let routedAt: number;
  try {
    ui.line(`▸ producing ${n} trajectories to ${config.topics.trajectories}`);
    await guard.race(
      phases.time('produce', () =>
        produceStream(generate({ ...settings.stream }), {
          kafka,
          topic: config.topics.trajectories,
          registry: createSchemaRegistry(config.input.schemaRegistry),
          limits: config.input.limits,
          onProgress: (sent) => {
            produced = sent;
          },
        }),
      ),
    );
    // 4. Wait for the outputs: every record routed (read back, committed), then trained.
    await guard.race(
      phases.time('routing (score + arbitrate)', () =>
        waitUntil(
          'routing',
          () => c.tap.routed >= n,
          () => c.tap.routed,
          ROUTING_STALL_MS,
        ),
      ),
    );
    routedAt = c.tap.lastRoutedAt ?? Date.now();
    await guard.race(phases.time('training (drain sft/rl topics)', () => drainTrainers(c, log)));
  } finally {
    clearInterval(ticker);
  }
  ui.liveEnd(liveStatus(c, n, produced));
  return { produced, produceStart, routedAt };
}

/** 5 + 6: summary and report; with --keep-running, everything stays up until Ctrl-C first. */
async function finish(
  run: Run,
  started: number,
  { backend, broker, model, config }: Prepared,
  c: Components,
  { produced, produceStart, routedAt }: Streamed,
): Promise<DemoSummary> {
  const { settings, ui, guard, phases } = run;
  const series = c.collector.view().series;
  const summarize = (stop: Phase | null): DemoSummary =>
    buildSummary({
      settings,
      metric: config.arbitration.metric,
      tap: c.tap,
      progress: c.progress,
      produced,
      throughputSeconds: (routedAt - produceStart) / 1000,
      broker,
      model,
      backend: backend.kind,
      dashboardUrl: c.dashboardUrl,
      reportPath: resolve(run.o.report ?? join(run.dir, 'report.html')),
      logPath: join(run.dir, 'demo.log'),
      phases: stop === null ? phases.list : [...phases.list, stop],
      totalSeconds: (Date.now() - started) / 1000,
    });
  const out = run.o.out ?? process.stdout;

  if (run.o.keepRunning === true) {
    const summary = summarize(null);
    await publishOutcome(summary, c.tap, series, run.dir, out);
    ui.line(
      `\neverything keeps running: dashboard ${c.dashboardUrl ?? '(off)'} · broker ${broker.address} ` +
        `(try: PRISM_KAFKA_BROKERS=${broker.address} npx prism consume --topic ${config.topics.rl} --from-beginning --max 1)\n` +
        'press Ctrl-C to stop trainers, arbitrator and broker',
    );
    await guard.stopped.catch((err: unknown) => {
      if (!guard.interrupted) throw err; // a component failed: runDemo's catch stops the rest
    });
    await stopAll(run);
    return summary;
  }

  ui.line('▸ stopping: trainers (final checkpoint), arbitrator, output reader, broker');
  const t0 = Date.now();
  await stopAll(run);
  const summary = summarize({ name: 'stop everything', seconds: (Date.now() - t0) / 1000 });
  await publishOutcome(summary, c.tap, series, run.dir, out);
  return summary;
}

/** Starts the broker and builds (or loads) the warm-started model at the same time. */
async function brokerAndModel(run: Run): Promise<[DemoBroker, WarmStartResult]> {
  const { ui, log, phases } = run;
  const version = run.o.kafkaVersion ?? DEFAULT_KAFKA_VERSION;
  ui.line(`▸ starting a Kafka ${version} broker of the demo's own (fresh data dir)`);
  let fetching = false;
  // A broker that cannot start (no Java, say) stops the warm-start too: no point finishing it.
  const brokerFailed = new AbortController();
  const brokerP = phases.time('broker start (in parallel)', () =>
    startDemoBroker({
      version,
      log,
      onFetchProgress: () => {
        if (!fetching)
          ui.line('  first run: fetching the Kafka jars from Maven Central (cached afterwards)...');
        fetching = true;
      },
    }),
  );
  void brokerP.then(
    (b) => (run.broker = b),
    () => brokerFailed.abort(),
  );
  run.teardown.add(4, 'broker', async () => {
    const b = await brokerP.catch(() => undefined);
    if (b === undefined) return;
    await b.stop();
    run.brokerStopped = true;
  });
  const ws = run.settings.warmStart;
  const modelP = phases.time('model warm-start (in parallel)', () =>
    ensureWarmStartModel(ws, {
      log,
      signal: AbortSignal.any([run.guard.signal, brokerFailed.signal]),
      onPlan: (p) => {
        if (p.cached) ui.line(`▸ model: warm-started tiny Llama from the cache (${p.dir})`);
        else {
          ui.line(
            `▸ model: tiny Llama (byte tokenizer), warm-start: ${ws.steps} SFT steps on base families (cached for next time)`,
          );
          ui.warmStartBegin(ws.steps);
        }
      },
      onStep: (step, loss) => ui.warmStartStep(step, ws.steps, loss),
    }),
  );
  try {
    const [broker, model] = await settleBoth(brokerP, modelP);
    ui.warmStartEnd();
    ui.line(
      `  broker ready at ${broker.address} (pid ${broker.state.pid}` +
        `${broker.defaultPorts ? '' : '; the default port is taken, so a free one was used'})`,
    );
    if (!model.cached)
      ui.line(`  warm-start done: loss ${fmt(model.firstLoss)} → ${fmt(model.lastLoss)} (${model.dir})`);
    return [broker, model];
  } finally {
    ui.warmStartEnd();
  }
}

/** Until both trainers trained (or dead-lettered) everything routed to them, or stop moving. */
async function drainTrainers(c: Components, log: Logger): Promise<void> {
  const done = (): boolean => {
    const s = c.tap.snapshot;
    return c.progress.sft.records + s.dlqSft >= s.sft && c.progress.rl.records + s.dlqRl >= s.rl;
  };
  try {
    await waitUntil(
      'training',
      done,
      () => c.progress.sft.records + c.progress.rl.records,
      TRAINING_STALL_MS,
    );
  } catch (err) {
    if (!(err instanceof DemoError && err.code === 'DEMO_STALLED')) throw err;
    log.warn('trainers stopped moving before draining their topics; stopping them as they are');
  }
}

function liveStatus(c: Components, total: number, produced: number): LiveStatus {
  const s = c.tap.snapshot;
  const p = c.progress;
  return {
    total,
    produced,
    routed: c.tap.routed,
    sft: s.sft,
    rl: s.rl,
    dlq: s.dlqInput,
    threshold: c.tap.lastThreshold,
    sftSteps: p.sft.steps,
    sftTrained: p.sft.records,
    sftLoss: p.sft.loss,
    rlSteps: p.rl.steps,
    rlTrained: p.rl.records,
    rlLoss: p.rl.loss,
  };
}
