import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LiveCollector, Ring, dashboardRoutes } from '../../src/dashboard/index.ts';
import type { ArbitrateResult } from '../../src/operators/types.ts';
import { PrismError } from '../../src/errors.ts';
import { WarmupHolds } from '../../src/arbitration/holding.ts';

describe('Ring', () => {
  it('keeps the newest `capacity` items, oldest first', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 7; i++) r.push(i);
    expect(r.toArray()).toEqual([5, 6, 7]);
    expect(r.last()).toBe(7);
    expect(r.size).toBe(3);
  });
});

describe('LiveCollector', () => {
  const rec = (i: number, route: 'SFT' | 'RL') => ({
    id: `r${i}`,
    family: i % 2 === 0 ? 'pick' : 'heat',
    metric: 'gini' as const,
    score: i,
    route,
    threshold: 10,
    t: i,
  });

  it('shows the warm-up hold while it lasts, in live.holding and as the first note', () => {
    const h = new WarmupHolds(256);
    const c = new LiveCollector({ now: () => 0 });
    c.watchHolding(() => h.snapshot());
    h.set('lane', 100, 100);
    let v = c.view();
    expect(v.live.holding).toMatchObject({ holding: true, records: 100, warmup: 256 });
    expect(v.notes[0]).toBe(
      'Warm-up: holding 100 records until the window has 256 scores (100 so far); nothing is routed before the window is warm (arbitration.warmup).',
    );
    h.set('lane', 0, 256);
    v = c.view();
    expect(v.live.holding).toMatchObject({ holding: false, records: 0 });
    expect(v.notes.some((n) => n.startsWith('Warm-up'))).toBe(false);
  });

  it('stays bounded: the view covers the last `capacity` records, totals cover all', () => {
    const c = new LiveCollector({ capacity: 50, seriesCapacity: 4, now: () => 0 });
    for (let i = 0; i < 1000; i++) c.observe(rec(i, i % 4 === 0 ? 'RL' : 'SFT'));
    for (let i = 0; i < 10; i++) c.sample({ t: i, recordsPerSec: i, lag: null });
    const v = c.view();
    expect(v.totals).toEqual({ records: 1000, sft: 750, rl: 250 });
    expect(v.histogram.sft.reduce((a, b) => a + b, 0) + v.histogram.rl.reduce((a, b) => a + b, 0)).toBe(50);
    expect(v.families.reduce((n, f) => n + f.sft + f.rl, 0)).toBe(50);
    expect(v.series.map((s) => s.t)).toEqual([6, 7, 8, 9]);
    expect(v.live).toEqual({ window: 50, capacity: 50, dlq: 0, holding: null });
    expect(v.threshold).toBe(10);
  });

  it('takes decided pipeline batches: scores of the decision metric, failed records counted as DLQ', () => {
    const c = new LiveCollector({ now: () => 42 });
    const source = {
      topic: 't',
      partition: 0,
      offset: '0',
      key: null,
      value: null,
      headers: {},
      timestamp: 0,
    };
    const trajectory = {
      id: 'x',
      task_id: 't',
      env: null,
      turns: [],
      reward: null,
      metadata: { family: 'pick' },
      created_at: 0,
      behavior_model_version: null,
    };
    const batch: ArbitrateResult[] = [
      {
        kind: 'decided',
        source,
        trajectory,
        scores: {
          gini: 0.1,
          kurtosis: 7,
          cv: 0.3,
          l2: 4,
          loss: 1,
          response_tokens: 3,
          truncated: false,
          norms: null,
        },
        probe: { modelId: 'm', version: '1' },
        scoredAt: 0,
        decision: { route: 'RL', threshold: 5, metric: 'kurtosis', policy: 'median', windowSize: 10 },
      },
      { kind: 'failed', source, stage: 'decode', error: new PrismError('DECODE_EMPTY', 'empty') },
    ];
    c.observeDecided(batch);
    const v = c.view();
    expect(v.metric).toBe('kurtosis');
    expect(v.threshold).toBe(5);
    expect(v.totals).toEqual({ records: 1, sft: 0, rl: 1 });
    expect(v.families).toEqual([{ family: 'pick', sft: 0, rl: 1 }]);
    expect(v.live.dlq).toBe(1);
  });

  it('samples the routing rate and lag on an interval until stopped', async () => {
    let t = 0;
    const c = new LiveCollector({ now: () => t });
    const stop = c.startSampling({ intervalMs: 5, lag: () => 7 });
    t = 1000;
    for (let i = 0; i < 20; i++) c.observe(rec(i, 'SFT'));
    await new Promise((r) => setTimeout(r, 30));
    stop();
    const first = c.view().series[0];
    expect(first).toEqual({ t: 1000, recordsPerSec: 20, lag: 7 });
  });
});

/** A minimal request/response pair for a route handler. */
function call(handler: ReturnType<typeof dashboardRoutes>, method: string, url: string) {
  const req = Object.assign(new EventEmitter(), { method, url }) as unknown as IncomingMessage;
  const out: { status?: number; headers: Record<string, string>; body?: string } = { headers: {} };
  const res = {
    writeHead(status: number, headers: Record<string, string> = {}) {
      out.status = status;
      out.headers = headers;
      return res;
    },
    end(body?: string) {
      out.body = body;
      return res;
    },
  } as unknown as ServerResponse;
  return { handled: handler(req, res), ...out };
}

describe('dashboardRoutes', () => {
  const c = new LiveCollector();
  c.observe({ id: 'a', family: 'pick', metric: 'gini', score: 0.5, route: 'RL', threshold: 0.4, t: 0 });
  const h = dashboardRoutes(c);

  it('serves the page with a same-origin-only CSP and no third-party URL', () => {
    const r = call(h, 'GET', '/dashboard/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.body).toContain('src="/dashboard/chart.js"');
    expect(r.body).toContain('data-source="/dashboard/data"');
    expect(r.body).not.toMatch(/https?:\/\//);
    expect(call(h, 'GET', '/dashboard').status).toBe(200);
  });

  it('serves the collector view as JSON and both scripts', () => {
    const data = call(h, 'GET', '/dashboard/data?x=1');
    expect(JSON.parse(data.body ?? '')).toMatchObject({ totals: { records: 1, rl: 1 } });
    expect(call(h, 'GET', '/dashboard/chart.js').body).toContain('Chart.js');
    expect(call(h, 'GET', '/dashboard/app.js').body).toContain('window.PRISM');
  });

  it('redirects / to the dashboard and leaves other paths and methods to the next handler', () => {
    expect(call(h, 'GET', '/')).toMatchObject({
      handled: true,
      status: 302,
      headers: { location: '/dashboard/' },
    });
    expect(call(h, 'GET', '/metrics').handled).toBe(false);
    expect(call(h, 'POST', '/dashboard/data').handled).toBe(false);
    expect(call(dashboardRoutes(c, { redirectRoot: false }), 'GET', '/').handled).toBe(false);
  });

  it('answers HEAD without a body', () => {
    const r = call(h, 'HEAD', '/dashboard/data');
    expect(r.status).toBe(200);
    expect(r.body).toBeUndefined();
  });
});
