/// <reference lib="dom" />
/**
 * The live dashboard in a real browser: `prism run` (child process, deterministic scorer, test
 * broker) serves /dashboard; headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core, never a downloaded browser) loads it and we check that the charts render the
 * pipeline's data, refresh when more records flow, log no console error and fetch nothing from
 * anywhere but our own server. A screenshot is saved for a human to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { chromium, type BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/gen/generate.ts';
import type { ChartView } from '../../src/report/types.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { createTestTopic, testKafka, uniqueName } from './helpers/kafka.ts';
import {
  createOutputs,
  runArgs,
  startCli,
  waitFor,
  type InputTopic,
  type RunningCli,
} from './run-fixtures.ts';

/** Debian's chromium package; PRISM_CHROMIUM_PATH overrides (never a downloaded browser). */
const CHROMIUM = process.env.PRISM_CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stderr.write(
    `dashboard-live: SKIPPED — ${CHROMIUM} not found (install it with: apt-get install -y chromium)\n`,
  );
}

/** Where the screenshot goes: $PRISM_TEST_ARTIFACTS or <os tmp>/prism-test-artifacts. */
const ARTIFACTS = process.env.PRISM_TEST_ARTIFACTS ?? join(tmpdir(), 'prism-test-artifacts');

const FIRST = 600;
const MORE = 200;

/** `prism gen` records (families + conflict labels) as Avro on a fresh topic. */
async function produceGenerated(topic: string, n: number, seed: number): Promise<string[]> {
  const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
  const messages: Message[] = [];
  for (const t of generate({ n, seed, conflictShare: 0.4 }))
    messages.push({ key: t.id, value: await codec.encode(t) });
  const producer = testKafka('prism-test-dashboard').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
  return messages.map((m) => String(m.key));
}

/** The port `prism run` bound for HTTP, from its JSON log line. */
function httpPort(cli: RunningCli): number | undefined {
  for (const line of cli.stderr().split('\n')) {
    if (!line.includes('http server listening')) continue;
    const port = (JSON.parse(line) as { port?: unknown }).port;
    if (typeof port === 'number') return port;
  }
  return undefined;
}

async function dashboardData(base: string): Promise<ChartView> {
  const res = await fetch(`${base}/dashboard/data`);
  return (await res.json()) as ChartView;
}

async function launch(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1100 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

describe.skipIf(!hasChromium)(`live dashboard in headless Chromium (needs ${CHROMIUM})`, () => {
  it('renders the running pipeline’s scores, family shares and throughput, refreshes, and logs no error', async () => {
    const topic = await createTestTopic(uniqueName('dash-in'), { partitions: 2 });
    const keys = await produceGenerated(topic, FIRST, 11);
    const input: InputTopic = { topic, keys, poisonKeys: [] };
    const out = await createOutputs('dash');
    const cli = startCli(runArgs(input, out, uniqueName('dash-group'), { 'arbitration.warmup': 100 }));
    const profile = mkdtempSync(join(tmpdir(), 'prism-chromium-'));
    let ctx: BrowserContext | undefined;
    try {
      await waitFor(
        'prism run to serve HTTP',
        async () => httpPort(cli) !== undefined || cli.child.exitCode !== null,
      );
      const port = httpPort(cli);
      expect(port, cli.stderr().slice(-3000)).toBeDefined();
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`the dashboard to see ${FIRST} routed records and a throughput sample`, async () => {
        const v = await dashboardData(base);
        return v.totals.records >= FIRST && v.series.length > 0;
      });

      ctx = await launch(profile);
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      const consoleErrors: string[] = [];
      const foreign: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      page.on('request', (r) => {
        if (!r.url().startsWith(`${base}/`)) foreign.push(r.url());
      });

      // The root redirects to the dashboard.
      await page.goto(`${base}/`);
      expect(new URL(page.url()).pathname).toBe('/dashboard/');

      const lengths = (): Promise<Record<string, number[]>> =>
        page.evaluate(() => {
          const w = window as unknown as {
            PRISM?: { charts: Record<string, { data: { datasets: { data: unknown[] }[] } }> };
          };
          return Object.fromEntries(
            Object.entries(w.PRISM?.charts ?? {}).map(([id, c]) => [
              id,
              c.data.datasets.map((d) => d.data.length),
            ]),
          );
        });
      await page.waitForFunction(() => document.querySelectorAll('.kpi').length > 0);
      const l = await lengths();
      expect(Object.keys(l).sort()).toEqual(['chart-families', 'chart-scores', 'chart-throughput']);
      for (const [id, per] of Object.entries(l)) expect(per[0], id).toBeGreaterThan(0);

      // The histogram's bars hold every routed record of the buffer, split by route.
      const bars = await page.evaluate(() => {
        const w = window as unknown as {
          PRISM: { charts: Record<string, { data: { datasets: { data: number[] }[] } }> };
        };
        return w.PRISM.charts['chart-scores'].data.datasets.map((d) => d.data.reduce((a, b) => a + b, 0));
      });
      expect(bars[0] + bars[1]).toBeGreaterThanOrEqual(FIRST);
      expect(bars[0]).toBeGreaterThan(0);
      expect(bars[1]).toBeGreaterThan(0);

      // Every canvas has painted pixels.
      const painted = await page.evaluate(() =>
        Array.from(document.querySelectorAll('canvas')).map((c) => {
          const ctx2d = c.getContext('2d');
          if (ctx2d === null || c.width === 0 || c.height === 0) return 0;
          const px = ctx2d.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) n++;
          return n;
        }),
      );
      expect(painted).toHaveLength(3);
      for (const n of painted) expect(n).toBeGreaterThan(0);

      // More records flow → the page shows them without a reload.
      await produceGenerated(topic, MORE, 12);
      await page.waitForFunction(
        (want) => {
          const kpi = Array.from(document.querySelectorAll('.kpi')).find(
            (k) => k.querySelector('.kpi-name')?.textContent === 'records',
          );
          return Number(kpi?.querySelector('.kpi-value')?.textContent) >= want;
        },
        FIRST + MORE,
        { timeout: 120_000 },
      );
      const families = await page.evaluate(() => {
        const w = window as unknown as { PRISM: { charts: Record<string, { data: { labels: string[] } }> } };
        return w.PRISM.charts['chart-families'].data.labels;
      });
      expect(families).toEqual(expect.arrayContaining(['pick', 'heat', 'webshop']));
      expect(await page.locator('#status').getAttribute('class')).toBe('ok');

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'dashboard-live.png');
      await page.screenshot({ path: shot, fullPage: true });
      process.stderr.write(`dashboard-live: screenshot saved to ${shot}\n`);

      expect(consoleErrors).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      await ctx?.close();
      rmSync(profile, { recursive: true, force: true });
      cli.child.kill('SIGTERM');
      const { code } = await cli.exited;
      expect(code, cli.stderr().slice(-3000)).toBe(0);
    }
  });
});
