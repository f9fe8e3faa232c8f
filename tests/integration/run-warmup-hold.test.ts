/**
 * Issue 17, item 3: a stream shorter than the warm-up routes nothing, and says so. `prism run`
 * (in-process, deterministic scorer) with 100 records and arbitration.warmup 256 logs
 * "holding N records until the window has 256 scores", shows the hold on /readyz (detail.warmup)
 * and on the dashboard, and on stop says the held records stay uncommitted.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type ConfigOverride } from '../../src/config/load.ts';
import { LiveCollector } from '../../src/dashboard/index.ts';
import { startPipeline } from '../../streams/app.ts';
import { waitForCount } from './helpers/wait.ts';
import { testBrokers, uniqueName } from './helpers/kafka.ts';
import { audit, createOutputs, removeTempDirs, writeInput } from './run-fixtures.ts';

afterAll(() => removeTempDirs());

interface LogLine {
  readonly msg: string;
  readonly hold?: string;
  readonly records?: number;
}

describe('prism run: the warm-up hold is visible', () => {
  it('logs, /readyz and the dashboard say that 100 records wait for a 256-score window', async () => {
    const input = await writeInput('hold-in', 100, { partitions: 2, poison: false });
    const out = await createOutputs('hold');
    const settings: Record<string, string> = {
      'kafka.brokers': testBrokers().join(','),
      'consumer.groupId': uniqueName('hold-group'),
      'topics.trajectories': input.topic,
      'topics.sft': out.sft,
      'topics.rl': out.rl,
      'topics.dlq': out.dlq,
      'scorer.kind': 'deterministic',
      'arbitration.warmup': '256',
      'consumer.sessionTimeoutMs': '10000',
      'consumer.heartbeatIntervalMs': '1000',
      'batch.maxWaitMs': '100',
      'http.port': '0',
    };
    const overrides: ConfigOverride[] = Object.entries(settings).map(([path, value]) => ({
      path,
      value,
      source: 'test',
    }));
    const cfg = loadConfig({ env: {}, overrides });
    const lines: LogLine[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of String(chunk).split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
        done();
      },
    });
    const dashboard = new LiveCollector();
    const handle = await startPipeline(cfg, { log: pino({ level: 'info' }, sink), dashboard });
    let readyz: { warmup?: { holding: boolean; records: number; warmup: number; message: string } } = {};
    try {
      const base = `http://127.0.0.1:${handle.http?.port}`;
      await waitForCount({
        what: 'records held for the warm-up on /readyz',
        target: 100,
        read: async () => {
          readyz = (await (await fetch(`${base}/readyz`)).json()) as typeof readyz;
          return readyz.warmup?.records ?? 0;
        },
        context: () => JSON.stringify(readyz),
      });
    } finally {
      await handle.stop('test done');
    }
    await handle.done;

    expect(readyz.warmup).toMatchObject({ holding: true, records: 100, warmup: 256 });
    expect(readyz.warmup?.message).toMatch(
      /^holding 100 records until the window has 256 scores \(\d+ so far\)$/,
    );
    const hold = lines.filter((l) => l.hold !== undefined);
    expect(hold[0]?.hold).toBe('start');
    expect(hold[0]?.msg).toMatch(/^holding \d+ records? until the window has 256 scores/);
    // On stop the lanes end still holding: said once, and nothing was routed.
    expect(hold.at(-1)).toMatchObject({ hold: 'released' });
    expect(hold.at(-1)?.msg).toMatch(/held records were left uncommitted/);
    const page = dashboard.view();
    expect(page.live.holding).toMatchObject({ holding: false, records: 0 });
    expect(page.totals.records).toBe(0);
    const a = await audit(out);
    expect(a.sft.length + a.rl.length).toBe(0);
  });
});
