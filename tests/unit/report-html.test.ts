import fc from 'fast-check';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRouting } from '../../src/eval/index.ts';
import {
  chartJsSource,
  familyCounts,
  histogram,
  jsonForScript,
  reportHtml,
  summaryView,
  writeReport,
  type RunSummary,
} from '../../src/report/index.ts';

const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  title: 'test run',
  generatedAt: Date.UTC(2026, 0, 1),
  metric: 'gini',
  threshold: 0.5,
  records: [
    { id: 'a', family: 'pick', score: 0.2, route: 'SFT' },
    { id: 'b', family: 'pick', score: 0.7, route: 'RL' },
    { id: 'c', family: 'heat-first', score: 0.9, route: 'RL' },
    { id: 'd', family: null, score: 0.4, route: 'SFT' },
  ],
  series: [
    { t: 1000, recordsPerSec: 10, lag: 5 },
    { t: 2000, recordsPerSec: 12, lag: null },
  ],
  ...over,
});

/** The JSON embedded in the page, parsed back. */
function embedded(html: string): unknown {
  const m = /<script type="application\/json" id="prism-data">([\s\S]*?)<\/script>/.exec(html);
  if (m === null) throw new Error('no embedded data');
  return JSON.parse(m[1]);
}

describe('histogram', () => {
  it('counts every finite score exactly once, split by route', () => {
    const rec = fc.record({
      score: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      route: fc.constantFrom('SFT' as const, 'RL' as const),
    });
    fc.assert(
      fc.property(
        fc.array(rec, { minLength: 1, maxLength: 500 }),
        fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true })),
        (rs, thr) => {
          const h = histogram(rs, thr);
          expect(h.sft.reduce((a, b) => a + b, 0)).toBe(rs.filter((r) => r.route === 'SFT').length);
          expect(h.rl.reduce((a, b) => a + b, 0)).toBe(rs.filter((r) => r.route === 'RL').length);
          expect(h.edges).toHaveLength(h.sft.length + 1);
          expect(h.sft.length).toBeLessThanOrEqual(40);
          // The axis covers the threshold, so its line is always drawn on the chart.
          if (thr !== null) {
            expect(h.edges[0]).toBeLessThanOrEqual(thr);
            expect(h.edges[h.edges.length - 1]).toBeGreaterThanOrEqual(thr);
          }
        },
      ),
    );
  });

  it('counts scores a few subnormals apart (bin width 0) once each', () => {
    const h = histogram(
      [
        { score: 0, route: 'SFT' },
        { score: 5e-324, route: 'RL' },
      ],
      null,
    );
    expect(h.sft.reduce((a, b) => a + b, 0)).toBe(1);
    expect(h.rl.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('skips non-finite scores and returns no bins for no data', () => {
    expect(histogram([{ score: Number.NaN, route: 'RL' }], 1)).toEqual({ edges: [], sft: [], rl: [] });
    const h = histogram(
      [
        { score: 3, route: 'RL' },
        { score: 3, route: 'SFT' },
      ],
      null,
    );
    expect(h.rl.reduce((a, b) => a + b, 0) + h.sft.reduce((a, b) => a + b, 0)).toBe(2);
  });
});

describe('familyCounts', () => {
  it('counts routes per family, records without one under "(none)"', () => {
    expect(familyCounts(summary().records)).toEqual([
      { family: '(none)', sft: 1, rl: 0 },
      { family: 'heat-first', sft: 0, rl: 1 },
      { family: 'pick', sft: 1, rl: 1 },
    ]);
  });
});

describe('reportHtml / writeReport', () => {
  it('is one self-contained file: Chart.js inlined, no external script, stylesheet or URL fetch', () => {
    const html = reportHtml(summary());
    expect(html).toContain(chartJsSource().slice(0, 200));
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel="stylesheet"/i);
    expect(html).not.toMatch(/(?:src|href)="https?:/i);
  });

  it('embeds the summary view, including the evaluation table data', () => {
    const result = evaluateRouting([
      { id: 'a', family: 'pick', positive: false, scores: { gini: 0.1, kurtosis: 1, cv: 1, l2: 1 } },
      { id: 'b', family: 'heat-first', positive: true, scores: { gini: 0.9, kurtosis: 2, cv: 1, l2: 1 } },
    ]);
    const s = summary({ evaluation: { label: 'conflict', result } });
    expect(embedded(reportHtml(s))).toEqual(JSON.parse(JSON.stringify(summaryView(s))));
  });

  it('keeps hostile strings from closing the data script', () => {
    const evil = '</script><script>alert(1)</script><!--';
    const html = reportHtml(
      summary({ title: evil, records: [{ id: evil, family: evil, score: 1, route: 'RL' }] }),
    );
    expect((embedded(html) as { families: { family: string }[] }).families[0].family).toBe(evil);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('<title>&lt;/script&gt;');
    expect(jsonForScript('<\u2028')).toBe('"\\u003c\\u2028"');
  });

  it('writes the file, creating parent folders', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prism-report-'));
    try {
      const path = join(dir, 'nested', 'report.html');
      await writeReport(summary(), path);
      expect(await readFile(path, 'utf8')).toBe(reportHtml(summary()));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
