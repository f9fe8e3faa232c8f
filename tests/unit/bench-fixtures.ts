/** Small hand-made benchmark results for the report tests (numbers are arbitrary, not measurements). */
import type { RunMeta } from '../../src/bench/machine.ts';
import type { PipelineResult } from '../../src/bench/pipeline/run.ts';
import {
  backendsResult as buildBackendsResult,
  type ScorerBackendsResult,
} from '../../src/bench/scorer-backends.ts';
import { sweepRatios, type SweepResult } from '../../src/bench/scorer-sweep.ts';
import { soakVerdict, type SoakResult, type SoakSample } from '../../src/bench/soak.ts';
import type { TorchResult } from '../../src/bench/torch.ts';
import type { BenchRow, ScorerBenchResult } from '../../src/scorer-host/bench.ts';

export function meta(over: Partial<RunMeta> = {}): RunMeta {
  return {
    version: 1,
    command: 'prism bench test',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:03:00.000Z',
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memGiB: 24,
      simd: ['avx2'],
      node: 'v20.20.0',
      platform: 'linux-x64',
    },
    loadStart: [0.5, 0.4, 0.3],
    loadEnd: [0.6, 0.4, 0.3],
    commit: 'abc1234',
    quick: false,
    ...over,
  };
}

const BACKEND = { kind: 'tensorflow' as const, tfBackend: 'tensorflow', gpu: false, attempts: [] };

function row(name: BenchRow['name'], ms: number, batch: number, tokens: number, gflop: number): BenchRow {
  return {
    name,
    ms,
    cpuMs: ms,
    trajectoriesPerSec: (batch * 1000) / ms,
    tokensPerSec: (tokens * 1000) / ms,
    gflop,
    gflopPerSec: gflop / ms,
  };
}

export function scorerBench(batch: number, seq: number): ScorerBenchResult {
  const tokens = batch * seq;
  return {
    backend: BACKEND,
    model: { id: 'preset-tiny-llama', layers: 4, hidden: 64, vocab: 264, parameters: 220_000 },
    batch,
    seq,
    tokens,
    reps: 2,
    rows: [
      row('batched', 100, batch, tokens, 2),
      row('per-trajectory', 300, batch, tokens, 2),
      row('auto', 100, batch, tokens, 2),
      row('reference', 400, batch, tokens, 2.1),
      row('train-step', 50, batch, tokens, 2.1),
    ],
    chosenPath: 'batched',
    speedupVsReference: 4,
    speedupVsReferenceCpu: 4,
  };
}

export function sweepResult(over: Partial<RunMeta> = {}): SweepResult {
  const ceiling = {
    method: 'openblas-c' as const,
    description: 'test ceiling',
    n: 2048,
    reps: 20,
    gflops: 100,
    threads: 2,
    runs: [{ method: 'openblas-c' as const, threads: 2, bestGflops: 100, medianGflops: 90 }],
    libraries: { 'openblas-c': 'Haswell' },
    env: {},
    skipped: [],
  };
  const configs = [
    { preset: 'tiny' as const, batch: 8, seq: 128 },
    { preset: 'small' as const, batch: 8, seq: 128 },
  ];
  return {
    kind: 'scorer-sweep',
    meta: meta({ command: 'prism bench scorer --sweep', ...over }),
    backend: BACKEND,
    threads: 2,
    reps: 2,
    ceiling,
    planned: configs.length,
    rows: configs.map((c) => {
      const bench = scorerBench(c.batch, c.seq);
      return { ...c, bench, ratios: sweepRatios(bench, ceiling.gflops) };
    }),
  };
}

export function pipelineResult(): PipelineResult {
  const column = (name: 'plain' | 'noop' | 'tiny', rate: number) => ({
    name,
    description: `${name} column`,
    drain: { records: 1000, seconds: 1000 / rate, recordsPerSec: rate, timeline: [{ t: 0, n: 1 }] },
    latency: {
      n: 100,
      min: 10,
      p50: 50,
      p90: 80,
      p99: 99,
      max: 120,
      mean: 55,
      targetRate: rate / 2,
      sentRate: rate / 2,
      missing: 0,
    },
    metricLatency: name === 'plain' ? null : { p50Ms: 55, p99Ms: 110, count: 100 },
    peakRssBytes: 200 * 2 ** 20,
    steadyRssBytes: 190 * 2 ** 20,
    duplicateOutputs: 0,
    rss: [
      { t: 0, rssBytes: 50 * 2 ** 20 },
      { t: 1000, rssBytes: 190 * 2 ** 20 },
    ],
    command: `prism run --model /tmp/x ${name}`,
    notes: name === 'tiny' ? ['tfjs backend: tensorflow'] : [],
  });
  return {
    kind: 'pipeline',
    meta: meta({ command: 'prism bench pipeline' }),
    broker: { brokers: ['127.0.0.1:1'], version: '3.9.1', ownBroker: true },
    settings: {
      partitions: 2,
      seq: 128,
      batchSize: 64,
      batchMaxWaitMs: 250,
      concurrency: 4,
      warmup: 256,
      warmRecords: 512,
      records: 1000,
      modelRecords: 500,
      latencySeconds: 30,
      latencyLoad: 0.5,
    },
    columns: [column('plain', 2000), column('noop', 1500), column('tiny', 50)],
    ratios: { noopVsPlain: 0.75, tinyVsPlain: 0.025 },
  };
}

export function soakResult(samples: SoakSample[]): SoakResult {
  return {
    kind: 'soak',
    meta: meta({ command: 'prism bench soak --minutes 10' }),
    settings: {
      minutes: 10,
      rate: 20,
      load: 0.5,
      warmupRecords: 512,
      capacityRecords: 400,
      intervalSeconds: 10,
      partitions: 2,
      seq: 128,
      batchSize: 64,
      warmup: 256,
    },
    drainRate: 40,
    records: 12_000,
    samples,
    latencyOverTime: {
      bucketSeconds: 20,
      buckets: [
        { t: 0, p50: 100, p99: 300, n: 400 },
        { t: 580, p50: 110, p99: 310, n: 400 },
      ],
    },
    verdict: soakVerdict(samples, 600),
    command: 'prism run …',
    notes: ['tfjs backend: tensorflow'],
  };
}

export function torchResult(): TorchResult {
  const side = {
    torch: '2.15.0',
    transformers: '5.23.0',
    python: '3.11.7',
    threads: 2,
    interopThreads: 1,
    attention: 'sdpa',
    trajectories: 16,
    msPerTrajectory: 200,
    cpuMsPerTrajectory: 390,
    trajectoriesPerSec: 5,
  };
  return {
    kind: 'torch',
    meta: meta({ command: 'prism bench torch' }),
    backend: BACKEND,
    python: '/venv/bin/python',
    reps: 1,
    rows: [
      {
        preset: 'tiny',
        batch: 16,
        seq: 128,
        threads: 2,
        parameters: 220_000,
        ours: { batched: 40, 'per-trajectory': 12, auto: 40, reference: 10, 'train-step': 80 },
        torch: side,
        referenceVsTorch: 2,
        batchedVsTorch: 8,
        maxRelNormDiff: 3e-7,
        maxAbsLossDiff: 1e-6,
      },
    ],
  };
}

/** tensorflow 100 ms batched, wasm 5× and cpu 20× slower on every row (arbitrary numbers). */
export function backendsResult(over: Partial<RunMeta> = {}): ScorerBackendsResult {
  const on = (kind: 'tensorflow' | 'wasm' | 'cpu', slow: number): ScorerBenchResult => {
    const b = scorerBench(16, 128);
    return {
      ...b,
      backend: {
        kind,
        tfBackend: kind,
        gpu: false,
        attempts: [],
        ...(kind === 'wasm' ? { simd: true } : {}),
      },
      rows: b.rows
        .map((r) => row(r.name, r.ms * slow, 16, 16 * 128, r.gflop))
        .map((r) => (r.name === 'auto' ? { ...r, path: 'batched' as const } : r)),
    };
  };
  return buildBackendsResult({
    meta: meta({
      command:
        'prism bench scorer --preset tiny --batch 16 --seq 128 --backends tensorflow,wasm,cpu --record',
      ...over,
    }),
    source: 'preset tiny (llama, seed 0)',
    reps: 2,
    results: [on('tensorflow', 1), on('wasm', 5), on('cpu', 20)],
  });
}
