import { evaluateRouting, type EvalRecord, type RoutingEvaluation } from '../eval/index.ts';
import type { RateSample, RunSummary } from '../report/types.ts';
import type { Metric } from '../schemas/types.ts';
import { rlShareText } from './progress.ts';
import type { OutputTap, PublishedVersion } from './tap.ts';

export interface FamilyRow {
  readonly family: string;
  readonly conflict: boolean | null;
  readonly n: number;
  readonly rl: number;
}

export interface TrainerSummary {
  readonly steps: number;
  readonly records: number;
  /** Records of its topic not trained when the demo stopped (still batching, or dead-lettered). */
  readonly untrained: number;
  readonly deadLettered: number;
  readonly lastLoss: number | null;
  /** The newest ModelUpdate seen on the model-updates topic. */
  readonly lastVersion: PublishedVersion | null;
  readonly versionsPublished: number;
}

export interface Phase {
  readonly name: string;
  readonly seconds: number;
}

export interface DemoSummary {
  readonly kind: 'prism.demo.summary/1';
  readonly profile: string;
  readonly produced: number;
  readonly counts: {
    readonly sft: number;
    readonly rl: number;
    readonly dlq: number;
    readonly dlqByCode: Readonly<Record<string, number>>;
    readonly distinctRouted: number;
    readonly undecodable: number;
  };
  readonly metric: Metric;
  readonly threshold: number | null;
  readonly rlShare: number | null;
  readonly families: readonly FamilyRow[];
  readonly throughput: { readonly records: number; readonly seconds: number; readonly perSecond: number };
  readonly evaluation: RoutingEvaluation | null;
  readonly trainers: { readonly sft: TrainerSummary; readonly rl: TrainerSummary };
  readonly broker: { readonly address: string; readonly pid: number; readonly defaultPorts: boolean };
  readonly model: {
    readonly dir: string;
    readonly cached: boolean;
    readonly steps: number;
    readonly firstLoss: number | null;
    readonly lastLoss: number | null;
  };
  readonly backend: string;
  readonly dashboardUrl: string | null;
  readonly reportPath: string | null;
  readonly logPath: string;
  readonly phases: readonly Phase[];
  readonly totalSeconds: number;
  readonly loadAverage: readonly number[];
  readonly cpus: number;
}

/** Per family: records routed and how many went to RL; base families first. */
export function familyRows(tap: OutputTap): FamilyRow[] {
  const rows = new Map<string, { conflict: boolean | null; n: number; rl: number }>();
  for (const r of tap.records) {
    const f = r.family ?? '(none)';
    const row = rows.get(f) ?? { conflict: r.conflict, n: 0, rl: 0 };
    row.n++;
    if (r.route === 'RL') row.rl++;
    rows.set(f, row);
  }
  return [...rows.entries()]
    .map(([family, r]) => ({ family, ...r }))
    .sort(
      (a, b) => Number(a.conflict === true) - Number(b.conflict === true) || a.family.localeCompare(b.family),
    );
}

/** `prism eval routing` over the scores the pipeline computed (only labelled records; null with one class). */
export function evaluateTapped(tap: OutputTap): RoutingEvaluation | null {
  const records: EvalRecord[] = tap.records.flatMap((r) =>
    r.conflict === null
      ? []
      : [
          {
            id: r.id,
            family: r.family,
            positive: r.conflict,
            scores: r.scores,
            responseTokens: r.responseTokens,
          },
        ],
  );
  return records.length === 0 ? null : evaluateRouting(records, 1);
}

/** The positive class of the evaluation, in words (labelOf with DEFAULT_LABEL). */
export const CONFLICT_LABEL =
  'conflict families (metadata.conflict = "true": heat-first, sanitize, teleport, json-actions, …)';

const f = (x: number | null | undefined, d = 3): string =>
  x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d);

function table(header: readonly string[], rows: readonly (readonly string[])[], leftCols = 1): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i < leftCols ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

function shareOf(rows: readonly FamilyRow[], conflict: boolean): string {
  const sel = rows.filter((r) => r.conflict === conflict);
  const n = sel.reduce((a, r) => a + r.n, 0);
  const rl = sel.reduce((a, r) => a + r.rl, 0);
  return n === 0 ? 'n/a' : `${((100 * rl) / n).toFixed(0)}% of ${n}`;
}

/** The summary as text for stdout. */
export function formatSummary(s: DemoSummary): string {
  const c = s.counts;
  const out: string[] = [];
  out.push('', '=== prism demo summary ===', '');
  out.push(
    `produced ${s.produced} trajectories → SFT ${c.sft} + RL ${c.rl} + DLQ ${c.dlq} = ${c.sft + c.rl + c.dlq}` +
      (c.sft + c.rl + c.dlq === s.produced ? ' ✓' : ` ✗ (expected ${s.produced})`),
  );
  if (c.distinctRouted !== c.sft + c.rl)
    out.push(`WARNING: ${c.sft + c.rl - c.distinctRouted} duplicate outputs`);
  if (c.dlq > 0)
    out.push(
      `dead letters by reason: ${Object.entries(c.dlqByCode)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  out.push(
    `routing: policy median of ${s.metric}, final threshold ${f(s.threshold, 4)} · RL share ${rlShareText(c.sft, c.rl)}` +
      ` · conflict families → RL ${shareOf(s.families, true)}, base families → RL ${shareOf(s.families, false)}`,
  );
  out.push(
    `throughput: ${s.throughput.records} records in ${s.throughput.seconds.toFixed(1)} s = ${s.throughput.perSecond.toFixed(1)} records/s` +
      ` (first record produced → last routing committed; backend ${s.backend})`,
  );
  out.push('', 'per family:');
  out.push(
    ...table(
      ['family', 'kind', 'n', 'RL', '%RL'],
      s.families.map((r) => [
        r.family,
        r.conflict === true ? 'conflict' : r.conflict === false ? 'base' : '?',
        String(r.n),
        String(r.rl),
        `${((100 * r.rl) / Math.max(1, r.n)).toFixed(0)}%`,
      ]),
      2,
    ),
  );
  const e = s.evaluation;
  out.push(
    '',
    'routing AUC: how well each score separates the conflict families from the base ones (0.5 = chance)',
  );
  if (e === null || !e.rows.some((r) => r.auc !== null)) {
    out.push('  n/a (needs both conflict and base records among the routed ones)');
  } else {
    out.push(
      `  ${e.n} routed records, ${e.positives} conflict, ${e.negatives} base; TPR/FPR of "RL if above the median"`,
    );
    out.push(
      ...table(
        ['score', 'AUC', '±se', 'TPR', 'FPR'],
        e.rows
          .filter((r) => r.router !== 'inverse')
          .map((r) => [
            r.router === 'prism'
              ? `${r.metric}${r.metric === s.metric ? ' (routing)' : ''}`
              : `${r.router} baseline`,
            f(r.auc),
            f(r.aucSe),
            f(r.confusion.tpr),
            f(r.confusion.fpr),
          ]),
      ).map((l) => `  ${l}`),
    );
  }
  const tr = (name: string, t: TrainerSummary): string =>
    `${name}: ${t.steps} steps on ${t.records} records (last loss ${f(t.lastLoss)})` +
    (t.untrained > 0 ? `, ${t.untrained} not trained yet` : '') +
    (t.deadLettered > 0 ? `, ${t.deadLettered} dead-lettered` : '') +
    ` · ${t.versionsPublished} model versions published` +
    (t.lastVersion
      ? ` (latest ${t.lastVersion.modelId} step ${t.lastVersion.step}, ${t.lastVersion.version})`
      : '');
  out.push('', 'trainers:', `  ${tr('SFT', s.trainers.sft)}`, `  ${tr('RL ', s.trainers.rl)}`);
  const m = s.model;
  out.push(
    '',
    `model: tiny Llama (byte tokenizer), ${m.cached ? 'warm-start loaded from cache' : `warm-started ${m.steps} SFT steps, loss ${f(m.firstLoss)} → ${f(m.lastLoss)}`}`,
    `  ${m.dir}`,
  );
  out.push('', 'time per phase:');
  out.push(
    ...table(
      ['phase', 'seconds'],
      s.phases.map((p) => [p.name, p.seconds.toFixed(1)]),
    ).map((l) => `  ${l}`),
  );
  out.push(
    `  total ${s.totalSeconds.toFixed(1)} s on ${s.cpus} cores (load average at the end: ${s.loadAverage.map((x) => x.toFixed(2)).join(' ')})`,
  );
  out.push('');
  if (s.reportPath !== null) out.push(`report: ${s.reportPath}`);
  out.push(`log:    ${s.logPath}`, '');
  return out.join('\n');
}

/** The HTML report's input (src/report): the routed records, throughput/lag samples and the evaluation. */
export function reportInput(s: DemoSummary, tap: OutputTap, series: readonly RateSample[]): RunSummary {
  return {
    title: `prism demo (${s.profile}): ${s.produced} trajectories, ${s.counts.sft} SFT / ${s.counts.rl} RL`,
    metric: s.metric,
    threshold: s.threshold,
    records: tap.records.map((r) => ({
      id: r.id,
      family: r.family,
      score: r.scores[s.metric],
      route: r.route,
    })),
    series,
    evaluation: s.evaluation === null ? null : { label: CONFLICT_LABEL, result: s.evaluation },
    notes: [
      `Scores and routes read back from the SFT/RL topics (read_committed). The arbitrator routed with a running median of ${s.metric}; the histogram's line is the final threshold.`,
      'Throughput and lag: sampled every 2 s by the arbitrator (lag = records waiting on the input topic).',
      `Evaluation: each score's AUC for the conflict families (median split over the routed records), against random and length baselines.`,
    ],
  };
}
