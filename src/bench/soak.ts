import type { Producer } from 'kafkajs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { arbitrationSection } from '../config/arbitrator.ts';
import { batchSection } from '../config/schema.ts';
import { errorMessage } from '../errors.ts';
import { createKafka } from '../kafka/client.ts';
import { PLAINTEXT_SECURITY } from '../kafka/security/resolve.ts';
import { freePorts } from '../kafka/local/net.ts';
import type { Logger } from '../log.ts';
import type { RunMeta } from './machine.ts';
import { openBenchBroker } from './pipeline/broker.ts';
import { startPrismChild, type BenchChild } from './pipeline/child.ts';
import { LatencyObserver } from './pipeline/observer.ts';
import { procMemory } from './pipeline/proc.ts';
import { scrape, sumOf } from './pipeline/prom.ts';
import {
  createBenchTopics,
  deleteBenchTopics,
  prismRunArgs,
  writeTinyModel,
  type BenchTopics,
} from './pipeline/setup.ts';
import { drain, warmUp } from './pipeline/phases.ts';
import { Workload, pacedLoad } from './pipeline/workload.ts';
import type { ResultBase } from './results.ts';
import { percentile } from './stats.ts';
import { soakVerdict, type SoakSample, type SoakVerdict } from './soak-verdict.ts';

export { soakVerdict, type SoakSample, type SoakVerdict };

/**
 * `prism bench soak --minutes M`: `prism run` with the tiny model as a child process, fed at a
 * steady open-loop rate for M minutes, while the bench samples its VmRSS (/proc/<pid>/status) and
 * scrapes its /metrics (prism_tfjs_tensors = tf.memory().numTensors, heap, records out). A leak
 * shows as a slope: live tensors must not grow at all, RSS must level off after warm-up.
 */
export interface SoakOptions {
  brokers?: string[];
  minutes: number;
  /** Records/s; default: `load` × the rate measured while draining the warm-up backlog. */
  rate?: number;
  load: number;
  /** Records through the new process first (arbitration window, scorer path calibration, JIT). */
  warmupRecords: number;
  /** Backlog drained to measure capacity when no --rate is given. */
  capacityRecords: number;
  intervalSeconds: number;
  partitions: number;
  seq: number;
  stallMs: number;
  logger: Logger;
  meta: { finish(): RunMeta };
  onTick?: (elapsedSec: number, totalSec: number, sample: SoakSample) => void;
}

export interface SoakResult extends ResultBase<'soak'> {
  settings: {
    minutes: number;
    rate: number;
    load: number;
    warmupRecords: number;
    capacityRecords: number;
    intervalSeconds: number;
    partitions: number;
    seq: number;
    batchSize: number;
    warmup: number;
  };
  drainRate: number;
  records: number;
  samples: SoakSample[];
  /** Latency over the paced phase, by input append time in buckets of `bucketSeconds`: p50 / p99 ms. */
  latencyOverTime: { bucketSeconds: number; buckets: { t: number; p50: number; p99: number; n: number }[] };
  verdict: SoakVerdict;
  command: string;
  notes: string[];
}

/** p50/p99 latency per time bucket (by append time, seconds since `start`); about 30 buckets, each ≥ 10 s. */
export function latencyOverTime(
  points: readonly { appendedAt: number; ms: number }[],
  start: number,
  totalSeconds: number,
): SoakResult['latencyOverTime'] {
  const bucketSeconds = Math.max(10, Math.ceil(totalSeconds / 30));
  const byBucket = new Map<number, number[]>();
  for (const p of points) {
    const b = Math.floor((p.appendedAt - start) / 1000 / bucketSeconds);
    if (b < 0) continue;
    const list = byBucket.get(b) ?? [];
    list.push(p.ms);
    byBucket.set(b, list);
  }
  const buckets = [...byBucket]
    .sort((a, b) => a[0] - b[0])
    .map(([b, xs]) => ({
      t: b * bucketSeconds,
      p50: percentile(xs, 50),
      p99: percentile(xs, 99),
      n: xs.length,
    }));
  return { bucketSeconds, buckets };
}

async function sampleChild(child: BenchChild, port: number, t: number): Promise<SoakSample> {
  const text = await scrape('127.0.0.1', port);
  return {
    t,
    rssBytes: procMemory(child.pid)?.rssBytes ?? Number.NaN,
    tensors: text === undefined ? null : (sumOf(text, 'prism_tfjs_tensors') ?? null),
    heapUsedBytes: text === undefined ? null : (sumOf(text, 'nodejs_heap_size_used_bytes') ?? null),
    recordsOut: text === undefined ? null : (sumOf(text, 'prism_records_out_total') ?? null),
  };
}

/** The pieces of a running soak: one producer, the observer, the workload, the topics and the child. */
interface SoakParts {
  producer: Producer;
  observer: LatencyObserver;
  workload: Workload;
  topics: BenchTopics;
  stamp: string;
  child: BenchChild;
}

/** Warm-up, then (without --rate) a capacity drain; the paced rate is load × that drain rate. */
async function warmAndMeasure(o: SoakOptions, p: SoakParts): Promise<{ drainRate: number; rate: number }> {
  const { producer, observer: obs, workload, topics: t, stamp, child: c } = p;
  const wait = { stallMs: o.stallMs, check: () => c.assertAlive('warming up') };
  o.logger.info({ records: o.warmupRecords }, 'soak: warm-up');
  await warmUp(producer, obs, workload, t.input, o.warmupRecords, `w-${stamp}`, wait);
  const drainRate =
    o.rate === undefined
      ? (await drain(producer, obs, workload, t.input, o.capacityRecords, `c-${stamp}`, wait)).recordsPerSec
      : Number.NaN;
  const rate = o.rate ?? Math.max(1, o.load * (Number.isFinite(drainRate) ? drainRate : 1));
  return { drainRate, rate };
}

/**
 * Paced input at `rate` for `totalSec`, the child sampled every intervalSeconds (and once more at
 * the end); returns once every paced record's output and input were seen.
 */
async function streamSampled(
  o: SoakOptions,
  p: SoakParts & { port: number; rate: number; totalSec: number },
): Promise<{ samples: SoakSample[]; keys: string[]; t0: number }> {
  const { producer, observer: obs, workload, topics: t, stamp, child: c, port, rate, totalSec } = p;
  const samples: SoakSample[] = [];
  const t0 = Date.now();
  let sampling = Promise.resolve();
  const tick = (): void => {
    sampling = sampling.then(async () => {
      const s = await sampleChild(c, port, (Date.now() - t0) / 1000);
      samples.push(s);
      o.onTick?.(s.t, totalSec, s);
    });
  };
  tick();
  const timer = setInterval(tick, o.intervalSeconds * 1000);
  let keys: string[];
  try {
    keys = await pacedLoad(producer, t.input, workload, {
      rate,
      seconds: totalSec,
      idPrefix: `s-${stamp}`,
      abort: () => c.hasExited(),
    });
    c.assertAlive('streaming');
    await obs.waitFor(keys, {
      stallMs: o.stallMs,
      deadline: Date.now() + 120_000,
      check: () => c.assertAlive('finishing'),
    });
    await sleep(o.intervalSeconds * 1000);
  } finally {
    clearInterval(timer);
    tick();
    await sampling;
  }
  await obs.waitForInputs(keys);
  return { samples, keys, t0 };
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.logger;
  const batch = batchSection.parse({});
  const warmup = arbitrationSection.parse({}).warmup;
  const broker = await openBenchBroker({ brokers: o.brokers, logger: log });
  const modelDir = await mkdtemp(join(tmpdir(), 'prism-soak-model-'));
  const kafka = createKafka({
    brokers: broker.brokers,
    clientId: 'prism-bench-soak',
    logLevel: 'nothing',
    security: PLAINTEXT_SECURITY,
  });
  let producer: Producer | undefined;
  let child: BenchChild | undefined;
  let observer: LatencyObserver | undefined;
  const stamp = `soak-${Date.now().toString(36)}`;
  let topics: BenchTopics | undefined;
  try {
    topics = await createBenchTopics(kafka, stamp, o.partitions, 'prism');
    const t = topics;
    const vocab = await writeTinyModel(modelDir);
    const workload = new Workload(o.seq, vocab);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    observer = await LatencyObserver.start(kafka, {
      groupId: `bench-${stamp}-observer`,
      input: t.input,
      outputs: t.outputs,
    });
    const obs = observer;
    const [port] = await freePorts(1);
    const args = prismRunArgs({
      brokers: broker.brokers.join(','),
      group: `bench-${stamp}`,
      topics: t,
      httpPort: port,
      scorer: ['--scorer', 'prism', '--model', modelDir],
    });
    const c = startPrismChild(args, {
      label: 'soak prism run',
      keep: /tfjs backend|scorer path|scorer ready/i,
    });
    child = c;
    const parts: SoakParts = { producer, observer: obs, workload, topics: t, stamp, child: c };
    const { drainRate, rate } = await warmAndMeasure(o, parts);
    const totalSec = o.minutes * 60;
    log.info({ drainRate, rate, minutes: o.minutes }, 'soak: streaming');
    const { samples, keys, t0 } = await streamSampled(o, { ...parts, port, rate, totalSec });
    const notes = c.keptMessages();
    const exit = await c.stop();
    if (exit.code !== 0) log.warn({ exit }, 'soak: prism run did not exit cleanly after SIGTERM');
    return {
      kind: 'soak',
      meta: o.meta.finish(),
      settings: {
        minutes: o.minutes,
        rate,
        load: o.load,
        warmupRecords: o.warmupRecords,
        capacityRecords: o.capacityRecords,
        intervalSeconds: o.intervalSeconds,
        partitions: o.partitions,
        seq: o.seq,
        batchSize: batch.size,
        warmup,
      },
      drainRate,
      records: keys.length,
      samples,
      latencyOverTime: latencyOverTime(obs.latencyPoints(keys), t0, totalSec),
      verdict: soakVerdict(samples, totalSec),
      command: `prism ${args.join(' ')}`,
      notes,
    };
  } finally {
    await child?.stop(5000);
    await observer?.stop();
    await producer?.disconnect().catch(() => undefined);
    if (o.brokers !== undefined && topics !== undefined)
      await deleteBenchTopics(kafka, topics).catch((err: unknown) =>
        log.warn({ err: errorMessage(err) }, 'could not delete soak topics'),
      );
    await rm(modelDir, { recursive: true, force: true });
    await broker.stop();
  }
}
