import type { ArbitrationMetric } from '../arbitration/metric.ts';
import { EvalError } from './errors.ts';
import type { RoutingEvaluation } from './routing.ts';

/**
 * The signal study (issue 17, item 10): `prism eval routing` over seeds × warm-start lengths, summarised
 * as mean ± sample sd of the AUC per metric and warm-start length. Pure: the runner
 * (tools/signal-study/run.ts) produces the evaluations, this module only aggregates and formats them.
 */

/** One `prism eval routing` result: a probe (model seed, warm-start steps) on one seed's stream. */
export interface StudyRun {
  readonly seed: number;
  readonly warmStartSteps: number;
  readonly evaluation: RoutingEvaluation;
  /** Wall-clock seconds of the evaluation (scoring included), for the report's runtime note. */
  readonly seconds?: number;
}

/** A study row label: a PRISM metric (its median split) or a baseline router. */
export type StudyRouter = ArbitrationMetric | 'random' | 'length';

export interface StudyCell {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1); null for a single run. */
  readonly sd: number | null;
  readonly values: readonly number[];
}

export interface StudySummary {
  readonly warmStartSteps: readonly number[];
  readonly seeds: readonly number[];
  readonly routers: readonly StudyRouter[];
  /** cells[router][steps] = the AUC over the seeds. */
  readonly cells: Readonly<Record<string, Readonly<Record<string, StudyCell>>>>;
}

export function meanSd(values: readonly number[]): StudyCell {
  if (values.length === 0) throw new EvalError('EVAL_EMPTY', 'mean ± sd of no values');
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { n, mean, sd, values: [...values] };
}

function routerOf(row: RoutingEvaluation['rows'][number]): StudyRouter | null {
  if (row.router === 'prism') return row.metric;
  if (row.router === 'random' || row.router === 'length') return row.router;
  return null; // inverse rows: their AUC is 1 − the metric's, nothing new
}

/** Mean ± sd of each router's AUC per warm-start length, over the runs' seeds. */
export function summariseStudy(runs: readonly StudyRun[]): StudySummary {
  if (runs.length === 0) throw new EvalError('EVAL_EMPTY', 'signal study: no runs to summarise');
  const values = new Map<StudyRouter, Map<number, number[]>>();
  for (const run of runs) {
    for (const row of run.evaluation.rows) {
      const router = routerOf(row);
      if (router === null || row.auc === null) continue;
      let bySteps = values.get(router);
      if (!bySteps) values.set(router, (bySteps = new Map()));
      const list = bySteps.get(run.warmStartSteps) ?? [];
      list.push(row.auc);
      bySteps.set(run.warmStartSteps, list);
    }
  }
  const cells: Record<string, Record<string, StudyCell>> = {};
  for (const [router, bySteps] of values) {
    cells[router] = {};
    for (const [steps, list] of bySteps) cells[router][String(steps)] = meanSd(list);
  }
  return {
    warmStartSteps: [...new Set(runs.map((r) => r.warmStartSteps))].sort((a, b) => a - b),
    seeds: [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b),
    routers: [...values.keys()],
    cells,
  };
}

const cellText = (c: StudyCell | undefined): string =>
  c === undefined ? 'n/a' : `${c.mean.toFixed(3)} ± ${c.sd === null ? 'n/a' : c.sd.toFixed(3)}`;

/** The summary as a Markdown table: one row per router, one column per warm-start length. */
export function formatStudyMarkdown(s: StudySummary): string {
  const header = ['AUC (mean ± sd)', ...s.warmStartSteps.map((w) => `${w} warm-start steps`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const router of s.routers) {
    const row = s.warmStartSteps.map((w) => cellText(s.cells[router]?.[String(w)]));
    lines.push(`| ${router} | ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}
