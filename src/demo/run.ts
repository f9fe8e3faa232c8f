import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { startPipeline, type PipelineHandle } from '../../streams/app.ts';
import { selectBackend, type BackendChoice } from '../backend/select.ts';
import { LiveCollector } from '../dashboard/index.ts';
import { ensureTopics, prismTopicSpecs } from '../kafka/admin/topics.ts';
import { withAdmin } from '../kafka/admin/connect.ts';
import { createKafka } from '../kafka/client.ts';
import { pidAlive } from '../kafka/local/process.ts';
import { DEFAULT_KAFKA_VERSION, type KafkaVersion } from '../kafka/local/versions.ts';
import { generate } from '../gen/generate.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { writeReport } from '../report/index.ts';
import { createSchemaRegistry } from '../schemas/from-config.ts';
import type { Metric } from '../schemas/types.ts';
import { startTrainer, type TrainerHandle } from '../trainer/run.ts';
import type { TrainerKind } from '../trainer/types.ts';
import { startDemoBroker, type DemoBroker } from './broker.ts';
import { demoConfig } from './config.ts';
import { DemoError } from './errors.ts';
import { Guard, Teardown, waitUntil } from './lifecycle.ts';
import { produceStream } from './produce.ts';
import { DemoProgress, type LiveStatus } from './progress.ts';
import { demoSettings, type DemoFlags } from './settings.ts';
import {
  evaluateTapped,
  familyRows,
  formatSummary,
  reportInput,
  type DemoSummary,
  type Phase,
  type TrainerSummary,
} from './summary.ts';
import { OutputTap } from './tap.ts';
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

interface TrainerProgress {
  steps: number;
  records: number;
  loss: number | null;
}

function demoLogger(path: string): Logger {
  return pino(
    { name: 'prism-demo', level: process.env.PRISM_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: path, sync: true, append: false, mkdir: true }),
  );
}

class Phases {
  readonly list: Phase[] = [];
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      this.list.push({ name, seconds: (Date.now() - t0) / 1000 });
    }
  }
}

/**
 * `prism demo`: own broker → warm-started tiny model → mixed stream → arbitrator + both trainers
 * in this process → summary, report. Everything started is stopped at the end, on error and on
 * Ctrl-C, in the order trainers, arbitrator, output reader, broker.
 */
export async function runDemo(o: DemoOptions = {}): Promise<DemoSummary> {
  const started = Date.now();
  const settings = demoSettings(o);
  const out = o.out ?? process.stdout;
  const dir = resolve(o.dir ?? join('.prism', 'demo'));
  const reportPath = resolve(o.report ?? join(dir, 'report.html'));
  const logPath = join(dir, 'demo.log');
  const checkpointRoot = join(dir, 'checkpoints');
  await mkdir(dir, { recursive: true });
  // Fresh checkpoints: the trainers must start from the warm-started model, not an older run.
  await rm(checkpointRoot, { recursive: true, force: true });
  const log = demoLogger(logPath);
  // Component logs go to the demo log; stray ones on the shared logger would break the bars.
  if (process.env.PRISM_LOG_LEVEL === undefined) rootLog.level = 'warn';
  // libtensorflow's C++ INFO lines (oneDNN, CPU features) are noise here.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

  const ui = new DemoProgress(o.err ?? process.stderr);
  const phases = new Phases();
  const teardown = new Teardown(log, (l) => ui.line(l));
  let broker: DemoBroker | undefined;
  let brokerStopped = false;
  const killBroker = (): void => {
    if (broker !== undefined && !brokerStopped && pidAlive(broker.state.pid)) process.kill(broker.state.pid, 'SIGKILL');
  };
  const guard = new Guard((l) => ui.line(l), killBroker);
  // Last resort if the process exits without running the teardown (it is detached from our group).
  const onExit = (): void => {
    if (broker !== undefined && !brokerStopped && pidAlive(broker.state.pid)) process.kill(broker.state.pid, 'SIGTERM');
  };
  process.on('exit', onExit);
  let ticker: NodeJS.Timeout | undefined;
  // Everything shares one event loop: log how long it was blocked (consumer heartbeats wait on it).
  const loopDelay = monitorEventLoopDelay({ resolution: 50 });
  loopDelay.enable();
  const loopReport = setInterval(() => {
    log.info({ maxMs: Math.round(loopDelay.max / 1e6), p99Ms: Math.round(loopDelay.percentile(99) / 1e6) }, 'demo: event loop delay (10 s)');
    loopDelay.reset();
  }, 10_000);
  loopReport.unref();

  try {
    ui.line(`prism demo (${settings.profile}): ${settings.stream.n} trajectories, ${Math.round(settings.stream.conflictShare * 100)}% of tasks from conflict families`);
    ui.line(`  work dir ${dir} (log: ${logPath})`);
    const backend = await selectBackend(o.backend ?? 'auto', { logger: log });
    ui.line(`  tfjs backend: ${backend.kind}`);

    // 1 + 2. Broker and model side by side: the JVM start is mostly waiting.
    const kafkaVersion = o.kafkaVersion ?? DEFAULT_KAFKA_VERSION;
    ui.line(`▸ starting a Kafka ${kafkaVersion} broker of the demo's own (fresh data dir)`);
    let fetchLine = false;
    // A broker that cannot start (no Java, say) stops the warm-start too: no point finishing it.
    const brokerFailed = new AbortController();
    const brokerP = phases.time('broker start (in parallel)', () =>
      startDemoBroker({
        version: kafkaVersion,
        log,
        onFetchProgress: () => {
          if (!fetchLine) ui.line('  first run: fetching the Kafka jars from Maven Central (cached afterwards)...');
          fetchLine = true;
        },
      }),
    );
    void brokerP.then(
      (started) => (broker = started),
      () => brokerFailed.abort(),
    );
    teardown.add(4, 'broker', async () => {
      const b = await brokerP.catch(() => undefined);
      if (b === undefined) return;
      await b.stop();
      brokerStopped = true;
    });
    const ws = settings.warmStart;
    const modelP = phases.time('model warm-start (in parallel)', () =>
      ensureWarmStartModel(ws, {
        log,
        signal: AbortSignal.any([guardSignal(guard), brokerFailed.signal]),
        onPlan: (p) => {
          if (p.cached) ui.line(`▸ model: warm-started tiny Llama from the cache (${p.dir})`);
          else {
            ui.line(`▸ model: tiny Llama (byte tokenizer), warm-start: ${ws.steps} SFT steps on base families (cached for next time)`);
            ui.warmStartBegin(ws.steps);
          }
        },
        onStep: (step, loss) => ui.warmStartStep(step, ws.steps, loss),
      }),
    );
    const [b, model] = await guard.race(settleBoth(brokerP, modelP));
    ui.warmStartEnd();
    broker = b;
    ui.line(
      `  broker ready at ${b.address} (pid ${b.state.pid}${b.defaultPorts ? '' : '; the default port is taken, so a free one was used'})`,
    );
    if (!model.cached) ui.line(`  warm-start done: loss ${fmt(model.firstLoss)} → ${fmt(model.lastLoss)} (${model.dir})`);

    // 3. Topics, then the components, then the stream.
    const config = demoConfig({ brokers: [b.address], modelDir: model.dir, checkpointRoot, settings, backend: backend.kind });
    await guard.race(
      phases.time('topics', () =>
        withAdmin([b.address], 'create the demo topics', (admin) =>
          ensureTopics(admin, prismTopicSpecs(config.topics, { partitions: 3, replicationFactor: 1 })),
        ),
      ),
    );

    const progress: Record<TrainerKind, TrainerProgress> = {
      sft: { steps: 0, records: 0, loss: null },
      rl: { steps: 0, records: 0, loss: null },
    };
    const trainers: Partial<Record<TrainerKind, TrainerHandle>> = {};
    const kafka = createKafka({ brokers: [b.address], clientId: 'prism-demo', logger: log.child({ component: 'kafkajs' }) });
    const collector = new LiveCollector({ metric: config.arbitration.metric, title: 'prism demo: live routing' });
    let pipeline: PipelineHandle | undefined;
    let tap: OutputTap | undefined;
    await guard.race(
      phases.time('start arbitrator + trainers', async () => {
        ui.line('▸ starting the SFT and RL trainers (from the warm-started model) and the arbitrator');
        for (const kind of ['sft', 'rl'] as const) {
          const p = startTrainer(kind, config, { log, backend: 'keep' });
          teardown.add(1, `${kind.toUpperCase()} trainer`, async () => (await p.catch(() => undefined))?.stop());
          const h = await p;
          trainers[kind] = h;
          h.loop.onStep((s) => {
            progress[kind].steps = s.step;
            progress[kind].records += s.records;
            progress[kind].loss = s.loss;
          });
          guard.watch(`the ${kind.toUpperCase()} trainer`, h.done);
        }
        const pp = startPipeline(config, { log: log.child({ component: 'run' }), dashboard: collector });
        teardown.add(2, 'arbitrator', async () => (await pp.catch(() => undefined))?.stop('demo finished'));
        pipeline = await pp;
        guard.watch('the arbitrator', pipeline.done);
        const tp = OutputTap.start(kafka, config.topics, log);
        teardown.add(3, 'output reader', async () => {
          const t = await tp.catch(() => undefined);
          // Let the trainers' final ModelUpdates (written while they stopped) arrive first.
          if (t !== undefined) await waitForFinalVersions(t, trainers, 5000);
          await t?.stop();
        });
        tap = await tp;
      }),
    );
    const dashboardUrl = pipeline?.http ? `http://127.0.0.1:${pipeline.http.port}/dashboard/` : null;
    if (dashboardUrl !== null) ui.line(`▸ live dashboard: ${dashboardUrl}`);
    const t = tap as OutputTap;

    const n = settings.stream.n;
    let produced = 0;
    const status = (): LiveStatus => {
      const c = t.snapshot;
      return {
        total: n,
        produced,
        routed: t.routed,
        sft: c.sft,
        rl: c.rl,
        dlq: c.dlqInput,
        threshold: t.lastThreshold,
        sftSteps: progress.sft.steps,
        sftTrained: progress.sft.records,
        sftLoss: progress.sft.loss,
        rlSteps: progress.rl.steps,
        rlTrained: progress.rl.records,
        rlLoss: progress.rl.loss,
      };
    };
    ticker = setInterval(() => ui.live(status()), 500);
    const produceStart = Date.now();
    ui.line(`▸ producing ${n} trajectories to ${config.topics.trajectories}`);
    await guard.race(
      phases.time('produce', () =>
        produceStream(
          generate({ ...settings.stream }),
          {
            kafka,
            topic: config.topics.trajectories,
            registry: createSchemaRegistry(config.input.schemaRegistry),
            limits: config.input.limits,
            onProgress: (sent) => {
              produced = sent;
            },
          },
        ),
      ),
    );
    await guard.race(
      phases.time('routing (score + arbitrate)', () =>
        waitUntil('routing', () => t.routed >= n, () => t.routed, ROUTING_STALL_MS),
      ),
    );
    const routedAt = t.lastRoutedAt ?? Date.now();
    const trainedAll = (): boolean => {
      const c = t.snapshot;
      return progress.sft.records + c.dlqSft >= c.sft && progress.rl.records + c.dlqRl >= c.rl;
    };
    await guard.race(
      phases.time('training (drain sft/rl topics)', () =>
        waitUntil('training', trainedAll, () => progress.sft.records + progress.rl.records, TRAINING_STALL_MS).catch(
          (err: unknown) => {
            if (!(err instanceof DemoError && err.code === 'DEMO_STALLED')) throw err;
            log.warn('trainers stopped moving before draining their topics; stopping them as they are');
          },
        ),
      ),
    );
    clearInterval(ticker);
    ui.liveEnd(status());

    const series = collector.view().series;
    const summarize = (stopPhase: Phase | null): DemoSummary =>
      buildSummary({
        settings,
        metric: config.arbitration.metric,
        tap: t,
        progress,
        produced,
        throughputSeconds: (routedAt - produceStart) / 1000,
        broker: b,
        model,
        backend: backend.kind,
        dashboardUrl,
        reportPath,
        logPath,
        phases: stopPhase === null ? phases.list : [...phases.list, stopPhase],
        totalSeconds: (Date.now() - started) / 1000,
      });

    if (o.keepRunning === true) {
      const summary = summarize(null);
      await publish(summary, reportInput(summary, t, series), dir, out);
      ui.line(
        `\neverything keeps running: dashboard ${dashboardUrl ?? '(off)'} · broker ${b.address} ` +
          `(try: PRISM_KAFKA_BROKERS=${b.address} npx prism consume --topic ${config.topics.rl} --from-beginning --max 1)\n` +
          'press Ctrl-C to stop trainers, arbitrator and broker',
      );
      await guard.stopped.catch((err: unknown) => {
        if (!guard.interrupted) throw err; // a component failed: the catch below stops the rest
      });
      await stopAll(teardown, ui);
      return summary;
    }

    ui.line('▸ stopping: trainers (final checkpoint), arbitrator, output reader, broker');
    const stopPhase = await timed('stop everything', () => stopAll(teardown, ui));
    const summary = summarize(stopPhase);
    await publish(summary, reportInput(summary, t, series), dir, out);
    return summary;
  } catch (err) {
    if (ticker !== undefined) clearInterval(ticker);
    ui.close();
    await stopAll(teardown, ui);
    throw guard.interrupted && !(err instanceof DemoError) ? new DemoError('DEMO_INTERRUPTED', 'interrupted; everything the demo started was stopped', { cause: err }) : err;
  } finally {
    clearInterval(loopReport);
    loopDelay.disable();
    guard.dispose();
    process.off('exit', onExit);
    log.flush();
  }
}

function fmt(x: number | null): string {
  return x === null ? 'n/a' : x.toFixed(3);
}

/** An AbortSignal that fires when the guard stops (Ctrl-C or a failure). */
function guardSignal(guard: Guard): AbortSignal {
  const ac = new AbortController();
  guard.stopped.catch(() => ac.abort());
  return ac.signal;
}

/** Both results, or the first failure once *both* settled (so nothing is left starting). */
async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

async function timed(name: string, fn: () => Promise<unknown>): Promise<Phase> {
  const t0 = Date.now();
  await fn();
  return { name, seconds: (Date.now() - t0) / 1000 };
}

async function stopAll(teardown: Teardown, ui: DemoProgress): Promise<void> {
  const failures = await teardown.runAll();
  if (failures.length > 0) ui.line(`some parts did not stop cleanly: ${failures.join('; ')}`);
}

async function waitForFinalVersions(
  tap: OutputTap,
  trainers: Partial<Record<TrainerKind, TrainerHandle>>,
  ms: number,
): Promise<void> {
  const wanted = Object.values(trainers)
    .map((h) => h?.loop.latestCheckpoint?.manifest.version)
    .filter((v): v is string => v !== undefined);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !wanted.every((v) => tap.versions.some((x) => x.version === v))) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function publish(summary: DemoSummary, report: Parameters<typeof writeReport>[0], dir: string, out: NodeJS.WritableStream): Promise<void> {
  if (summary.reportPath !== null) await writeReport(report, summary.reportPath);
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  out.write(formatSummary(summary));
  if (summary.reportPath !== null) out.write(`open it: ${pathToFileURL(summary.reportPath).href}\n`);
}

interface SummaryInput {
  settings: ReturnType<typeof demoSettings>;
  metric: Metric;
  tap: OutputTap;
  progress: Record<TrainerKind, TrainerProgress>;
  produced: number;
  throughputSeconds: number;
  broker: DemoBroker;
  model: WarmStartResult;
  backend: string;
  dashboardUrl: string | null;
  reportPath: string;
  logPath: string;
  phases: readonly Phase[];
  totalSeconds: number;
}

function buildSummary(i: SummaryInput): DemoSummary {
  const c = i.tap.snapshot;
  const trainer = (kind: TrainerKind): TrainerSummary => {
    const p = i.progress[kind];
    const routed = kind === 'sft' ? c.sft : c.rl;
    const dead = kind === 'sft' ? c.dlqSft : c.dlqRl;
    const modelId = kind === 'sft' ? 'demo-sft' : 'demo-rl';
    const versions = i.tap.versions.filter((v) => v.modelId === modelId);
    return {
      steps: p.steps,
      records: p.records,
      untrained: Math.max(0, routed - p.records - dead),
      deadLettered: dead,
      lastLoss: p.loss,
      lastVersion: versions.reduce<(typeof versions)[number] | null>((a, v) => (a === null || v.step >= a.step ? v : a), null),
      versionsPublished: versions.length,
    };
  };
  const routed = i.tap.routed;
  return {
    kind: 'prism.demo.summary/1',
    profile: i.settings.profile,
    produced: i.produced,
    counts: {
      sft: c.sft,
      rl: c.rl,
      dlq: c.dlqInput,
      dlqByCode: Object.fromEntries(i.tap.dlqCodes),
      distinctRouted: c.distinctRouted,
      undecodable: c.undecodable,
    },
    metric: i.metric,
    threshold: i.tap.lastThreshold,
    rlShare: c.sft + c.rl === 0 ? null : c.rl / (c.sft + c.rl),
    families: familyRows(i.tap),
    throughput: {
      records: routed,
      seconds: i.throughputSeconds,
      perSecond: i.throughputSeconds > 0 ? routed / i.throughputSeconds : 0,
    },
    evaluation: evaluateTapped(i.tap),
    trainers: { sft: trainer('sft'), rl: trainer('rl') },
    broker: { address: i.broker.address, pid: i.broker.state.pid, defaultPorts: i.broker.defaultPorts },
    model: { dir: i.model.dir, cached: i.model.cached, steps: i.model.steps, firstLoss: i.model.firstLoss, lastLoss: i.model.lastLoss },
    backend: i.backend,
    dashboardUrl: i.dashboardUrl,
    reportPath: i.reportPath,
    logPath: i.logPath,
    phases: i.phases,
    totalSeconds: i.totalSeconds,
    loadAverage: loadavg(),
    cpus: availableParallelism(),
  };
}
