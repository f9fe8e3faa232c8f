import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type Readiness, type RunningHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';
import { PipelineMetrics } from '../../src/metrics/pipeline-metrics.ts';
import type { Outbound } from '../../src/operators/types.ts';
import { sourceRecord } from './operators-fixtures.ts';

const o = (offset: number, route: Outbound['route'], reason?: string): Outbound => ({
  source: sourceRecord(offset),
  route,
  topic: route.toLowerCase(),
  key: null,
  value: null,
  headers: route === 'DLQ' ? { 'prism.error.stage': 'decode' } : {},
  reason,
});

function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('PipelineMetrics', () => {
  it('counts committed outputs by route, DLQ by reason and stage, and the realised RL share', async () => {
    const m = new PipelineMetrics({}, { defaultMetrics: false });
    m.observeCommitted({
      outputs: [o(0, 'SFT'), o(1, 'RL'), o(2, 'RL'), o(3, 'DLQ', 'DECODE_EMPTY')],
      committedAt: 1_700_000_000_004,
    });
    const text = await m.registry.metrics();
    expect(sample(text, 'prism_records_out_total', '{route="RL"}')).toBe(2);
    expect(sample(text, 'prism_records_out_total', '{route="DLQ"}')).toBe(1);
    expect(sample(text, 'prism_dlq_records_total', '{reason="DECODE_EMPTY",stage="decode"}')).toBe(1);
    expect(sample(text, 'prism_rl_share')).toBeCloseTo(2 / 3);
    expect(sample(text, 'prism_end_to_end_seconds_count')).toBe(4);
  });

  it('reports consumer lag from the high watermark and the committed position', async () => {
    const m = new PipelineMetrics({}, { defaultMetrics: false });
    m.observeCommittedPosition('in', 0, null);
    m.observeHighWatermark('in', 0, '10');
    expect(sample(await m.registry.metrics(), 'prism_consumer_lag', '{topic="in",partition="0"}')).toBe(10);
    m.observeCommitted({ outputs: [o(3, 'SFT')], committedAt: 0 });
    expect(sample(await m.registry.metrics(), 'prism_consumer_lag', '{topic="in",partition="0"}')).toBe(6);
  });

  it('exports the running threshold and window per probe version, live tensors and in-flight records at scrape time', async () => {
    const m = new PipelineMetrics(
      {
        windows: () => [{ probe: { modelId: 'm', version: '2' }, size: 300, warm: true, threshold: 0.42 }],
        liveTensors: () => 17,
        inFlight: () => new Map([[1, 5]]),
      },
      { defaultMetrics: false, metric: 'cv', policy: 'quantile' },
    );
    const text = await m.registry.metrics();
    expect(
      sample(text, 'prism_threshold', '{probe_model="m",probe_version="2",metric="cv",policy="quantile"}'),
    ).toBe(0.42);
    expect(sample(text, 'prism_window_scores', '{probe_model="m",probe_version="2"}')).toBe(300);
    expect(sample(text, 'prism_tfjs_tensors')).toBe(17);
    expect(sample(text, 'prism_in_flight_records', '{partition="1"}')).toBe(5);
  });
});

describe('http server', () => {
  let server: RunningHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(readiness: Readiness, healthy = true): Promise<string> {
    const m = new PipelineMetrics({}, { defaultMetrics: false });
    m.recordsIn.inc({ topic: 'in', partition: '0' }, 3);
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: m.registry,
      healthy: () => healthy,
      readiness: () => readiness,
      log: createLogger('test', 'silent'),
    });
    return `http://127.0.0.1:${server.port}`;
  }

  it('binds 127.0.0.1 and serves Prometheus text on /metrics', async () => {
    const base = await start({ ready: true, reasons: [] });
    expect(server?.host).toBe('127.0.0.1');
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    expect(await res.text()).toMatch(/prism_records_in_total\{topic="in",partition="0"\} 3/);
  });

  it('answers /readyz 503 with the reasons until ready, then 200', async () => {
    const base = await start({
      ready: false,
      reasons: ['not joined to the consumer group (starting or rebalancing)'],
    });
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: 'not ready',
      reasons: [expect.stringMatching(/not joined/)],
    });
  });

  it('answers /healthz from liveness and 404 elsewhere', async () => {
    const base = await start({ ready: true, reasons: [] }, false);
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
