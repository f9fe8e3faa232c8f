import type { Route } from '../schemas/types.ts';
import type { ChartView, RunSummary } from './types.ts';

const MAX_BINS = 40;
const MIN_BINS = 5;

/** Equal-width bins over the scores and the threshold, counted per route. Non-finite scores are skipped. */
export function histogram(
  scores: readonly { score: number; route: Route }[],
  threshold: number | null,
): ChartView['histogram'] {
  const finite = scores.filter((s) => Number.isFinite(s.score));
  if (finite.length === 0) return { edges: [], sft: [], rl: [] };
  let lo = Infinity;
  let hi = -Infinity;
  for (const { score } of finite) {
    lo = Math.min(lo, score);
    hi = Math.max(hi, score);
  }
  // Keep the threshold line on the axis even when the window has drifted away from it.
  if (threshold !== null && Number.isFinite(threshold)) {
    lo = Math.min(lo, threshold);
    hi = Math.max(hi, threshold);
  }
  if (hi === lo) {
    const pad = Math.abs(lo) * 1e-3 || 1e-3;
    lo -= pad;
    hi += pad;
  }
  const bins = Math.min(MAX_BINS, Math.max(MIN_BINS, Math.ceil(Math.sqrt(finite.length))));
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width));
  const sft = new Array<number>(bins).fill(0);
  const rl = new Array<number>(bins).fill(0);
  for (const { score, route } of finite) {
    // A span of a few subnormals makes width 0: (lo − lo) / 0 is NaN, which must still land in bin 0.
    const raw = Math.floor((score - lo) / width);
    const i = Number.isNaN(raw) ? 0 : Math.max(0, Math.min(bins - 1, raw));
    (route === 'RL' ? rl : sft)[i]++;
  }
  return { edges, sft, rl };
}

/** Route counts per family, families sorted by name ("(none)" for records without one). */
export function familyCounts(
  records: readonly { family: string | null; route: Route }[],
): ChartView['families'] {
  const m = new Map<string, { sft: number; rl: number }>();
  for (const r of records) {
    const key = r.family ?? '(none)';
    const c = m.get(key) ?? { sft: 0, rl: 0 };
    if (r.route === 'RL') c.rl++;
    else c.sft++;
    m.set(key, c);
  }
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([family, c]) => ({ family, ...c }));
}

/** RunSummary → the small object the page renders. */
export function summaryView(s: RunSummary): ChartView {
  const rl = s.records.filter((r) => r.route === 'RL').length;
  return {
    title: s.title ?? 'prism-stream run report',
    generatedAt: s.generatedAt ?? Date.now(),
    metric: s.metric,
    threshold: s.threshold,
    totals: { records: s.records.length, sft: s.records.length - rl, rl },
    histogram: histogram(s.records, s.threshold),
    families: familyCounts(s.records),
    series: s.series,
    evaluation: s.evaluation ?? null,
    notes: s.notes ?? [],
  };
}
