/**
 * `prism bench eventloop`: how long the main thread's event loop stalls while the PRISM scorer works,
 * with the scorer in a worker thread (`scorer.thread: worker`, the `prism run` default) and on the
 * main thread. While `batches` micro-batches are scored back to back, it samples
 * perf_hooks.monitorEventLoopDelay (10 ms resolution) and polls a local HTTP `/readyz` every 100 ms
 * (server and client both on the main thread, as in `prism run`), recording each answer's latency.
 */
import { createServer, get, type Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import type { Arch, Preset } from '../model/config.ts';
import type { ScorerConfig } from '../config/scorer.ts';
import { syntheticTrajectories } from '../scorer-host/bench.ts';
import type { Scorer } from '../scorer/types.ts';
import { percentile } from './stats.ts';

export type ThreadMode = 'worker' | 'main';

export interface EventLoopBenchOptions {
  readonly config: Partial<ScorerConfig>;
  readonly preset?: { preset: Preset; arch: Arch; seed: number };
  readonly batch: number;
  readonly seq: number;
  readonly batches: number;
  readonly modes: readonly ThreadMode[];
  readonly logger: Logger;
}

export interface EventLoopRow {
  thread: ThreadMode;
  batches: number;
  /** Wall seconds spent scoring. */
  seconds: number;
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
  readyzAnswered: number;
  readyzP99Ms: number;
  readyzMaxMs: number;
}

function readyzServer(): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/readyz' ? 200 : 404).end('ok');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Polls /readyz every 100 ms until stopped; returns each answer's latency in ms. */
function pollReadyz(port: number): { stop: () => number[] } {
  const latencies: number[] = [];
  let stopped = false;
  const once = (): void => {
    if (stopped) return;
    const t0 = performance.now();
    get({ host: '127.0.0.1', port, path: '/readyz' }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) latencies.push(performance.now() - t0);
        setTimeout(once, 100);
      });
    }).on('error', () => setTimeout(once, 100));
  };
  once();
  return {
    stop: () => {
      stopped = true;
      return latencies;
    },
  };
}

async function openScorer(mode: ThreadMode, o: EventLoopBenchOptions): Promise<Scorer> {
  if (mode === 'worker') {
    const { WorkerScorer } = await import('../scorer-host/worker/worker-scorer.ts');
    return WorkerScorer.open({ config: o.config, preset: o.preset }, { logger: o.logger });
  }
  const { openPrismScorer } = await import('../scorer-host/open.ts');
  return (await openPrismScorer(o.config, { preset: o.preset, logger: o.logger })).scorer;
}

async function measure(mode: ThreadMode, o: EventLoopBenchOptions, vocab: number): Promise<EventLoopRow> {
  const scorer = await openScorer(mode, o);
  const server = await readyzServer();
  try {
    const trajs = syntheticTrajectories(o.batch, o.seq, vocab);
    await scorer.scoreBatch(trajs.slice(0, 2)); // warm-up (and path calibration) before measuring
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const poller = pollReadyz((server.address() as AddressInfo).port);
    const t0 = performance.now();
    for (let i = 0; i < o.batches; i++) {
      const out = await scorer.scoreBatch(trajs);
      const bad = out.find((r) => !r.ok);
      if (bad !== undefined && !bad.ok) throw bad.error;
    }
    const seconds = (performance.now() - t0) / 1000;
    h.disable();
    const lat = poller.stop();
    return {
      thread: mode,
      batches: o.batches,
      seconds,
      delayP50Ms: h.percentile(50) / 1e6,
      delayP99Ms: h.percentile(99) / 1e6,
      delayMaxMs: h.max / 1e6,
      readyzAnswered: lat.length,
      readyzP99Ms: lat.length > 0 ? percentile(lat, 99) : Number.NaN,
      readyzMaxMs: lat.length > 0 ? Math.max(...lat) : Number.NaN,
    };
  } finally {
    server.close();
    scorer.dispose();
  }
}

export async function runEventLoopBench(o: EventLoopBenchOptions, vocab: number): Promise<EventLoopRow[]> {
  const rows: EventLoopRow[] = [];
  for (const mode of o.modes) rows.push(await measure(mode, o, vocab));
  return rows;
}

export function eventLoopTable(rows: readonly EventLoopRow[]): string {
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '—');
  return [
    '| scorer thread | batches | scoring s | loop delay p50 ms | p99 ms | max ms | /readyz answers | /readyz p99 ms | max ms |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.thread} | ${r.batches} | ${r.seconds.toFixed(1)} | ${f(r.delayP50Ms)} | ${f(r.delayP99Ms)} | ${f(r.delayMaxMs)} | ${r.readyzAnswered} | ${f(r.readyzP99Ms)} | ${f(r.readyzMaxMs)} |`,
    ),
  ].join('\n');
}
