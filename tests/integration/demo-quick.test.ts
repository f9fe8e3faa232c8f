/**
 * `prism demo --quick` end to end, as a newcomer runs it: its own broker, the warm-started model
 * (built or from the cache), the stream, arbitrator + trainers, summary, report, clean stop.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/demo/summary.ts';
import type { ChartView } from '../../src/report/types.ts';
import { alive, processesMentioning, startDemo } from './demo-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-demo-quick-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function embeddedView(html: string): ChartView {
  const m = /<script type="application\/json" id="prism-data">([\s\S]*?)<\/script>/.exec(html);
  if (m === null) throw new Error('report has no embedded data');
  return JSON.parse(m[1]) as ChartView;
}

describe('prism demo --quick', () => {
  it('routes every produced record exactly once, reports it, and leaves nothing running', async () => {
    const demo = startDemo(['--quick', '--work-dir', dir]);
    const code = await demo.exited;
    expect(code, `stderr tail:\n${demo.stderr().slice(-4000)}`).toBe(0);

    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as DemoSummary;
    const { sft, rl, dlq, distinctRouted } = summary.counts;
    expect(summary.produced).toBe(240);
    expect(sft + rl + dlq).toBe(summary.produced);
    expect(distinctRouted).toBe(sft + rl); // no duplicates: exactly once
    expect(sft).toBeGreaterThan(0);
    expect(rl).toBeGreaterThan(0);
    // The stdout summary states the same counts.
    expect(demo.stdout()).toContain(`produced 240 trajectories → SFT ${sft} + RL ${rl} + DLQ ${dlq} = 240 ✓`);
    expect(demo.stdout()).toContain('per family:');
    expect(demo.stdout()).toContain('routing AUC');
    expect(summary.families.reduce((a, f) => a + f.n, 0)).toBe(sft + rl);
    expect(summary.evaluation?.n).toBe(sft + rl);

    // The report: self-contained HTML with the charts' canvases and their data.
    expect(summary.reportPath).toBe(join(dir, 'report.html'));
    const html = readFileSync(summary.reportPath as string, 'utf8');
    for (const id of ['chart-scores', 'chart-families', 'chart-throughput'])
      expect(html).toContain(`id="${id}"`);
    const view = embeddedView(html);
    expect(view.totals.records).toBe(sft + rl);
    expect(view.histogram.sft.reduce((a, b) => a + b, 0) + view.histogram.rl.reduce((a, b) => a + b, 0)).toBe(
      sft + rl,
    );
    expect(view.threshold).toBe(summary.threshold);
    expect(view.families.map((f) => f.family).sort()).toEqual(summary.families.map((f) => f.family).sort());
    expect(view.series.length).toBeGreaterThan(0);
    expect(view.evaluation?.result.n).toBe(sft + rl);

    // Nothing left behind: the demo's broker JVM is gone, and so is anything using its run dir.
    expect(alive(summary.broker.pid)).toBe(false);
    expect(processesMentioning(`broker-${demo.child.pid}`)).toEqual([]);
  }, 900_000);
});
