import { EVAL_METRICS, type RoutingEvaluation, type RouterEval } from './routing.ts';

const num = (x: number | null, digits = 3): string =>
  x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

function thresholdText(r: RouterEval): string {
  if (r.router === 'random') return `u>${num(r.threshold, 3)}`;
  if (r.router === 'length') return `>${num(r.threshold, 1)} tok`;
  // Print the inverse split on the metric's own scale: -s > t ⇔ s < -t.
  return r.router === 'inverse' ? `<${num(-r.threshold, 4)}` : `>${num(r.threshold, 4)}`;
}

/** The evaluation as a fixed-width text table (one row per router), for stdout. */
export function formatRoutingTable(e: RoutingEvaluation): string {
  const header = [
    'metric',
    'router',
    'n',
    'AUC',
    '±se',
    'RL if',
    'TP',
    'FP',
    'FN',
    'TN',
    'TPR',
    'FPR',
    'prec',
    'acc',
    'RL share',
  ];
  const body = e.rows.map((r) => {
    const c = r.confusion;
    return [
      r.metric ?? '-',
      r.router,
      String(r.n),
      num(r.auc),
      num(r.aucSe),
      thresholdText(r),
      String(c.tp),
      String(c.fp),
      String(c.fn),
      String(c.tn),
      num(c.tpr),
      num(c.fpr),
      num(c.precision),
      num(c.accuracy),
      num(c.rlShare),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const lines = [
    pad(header, widths),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map((row) => pad(row, widths)),
  ];
  return lines.join('\n');
}

/** RL share per family under each metric's median split. */
export function formatFamilyTable(e: RoutingEvaluation): string {
  const metrics = EVAL_METRICS.filter((m) => e.families.some((f) => f.rlShare[m] !== undefined));
  const header = ['family', 'n', 'pos', ...metrics.map((m) => `RL% ${m}`)];
  const body = e.families.map((f) => [
    f.family,
    String(f.n),
    String(f.positives),
    ...metrics.map((m) => {
      const v = f.rlShare[m];
      return v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(0)}%`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  return [
    pad(header, widths),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map((row) => pad(row, widths)),
  ].join('\n');
}
