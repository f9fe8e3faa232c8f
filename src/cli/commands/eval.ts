import { InvalidArgumentError, type Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/choices.ts';
import { METRICS, SCORER_PATHS, type ScorerPathSetting } from '../../config/scorer-choices.ts';
import { ConfigError, PrismError, errorMessage } from '../../errors.ts';
import type { EvalRecord, EvalRoutingReport, RoutingEvaluation } from '../../eval/index.ts';
import { DEFAULT_LABEL, type LabelSpec } from '../../eval/labels.ts';
import type { Progress } from '../../io/progress.ts';
import type { RateSample } from '../../report/index.ts';
import type { Metric, Trajectory } from '../../schemas/types.ts';
import type { PrismScorer, ScoreOutcome } from '../../scorer/index.ts';
import type { MetricEvaluator } from '../../arbitration/metric.ts';

// The implementation modules (tfjs, avsc, pino, the report renderer) are imported inside the functions
// below, on use, so `prism --help` and the other commands do not load them.

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function integer(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function oneOf<T extends string>(choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(choices as readonly string[]).includes(v))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return v as T;
  };
}

interface RoutingFlags {
  model: string;
  in: string;
  labelKey: string;
  positive: string;
  batch: number;
  maxSeqLen: number;
  seed: number;
  out?: string;
  html?: string;
  htmlMetric: Metric;
  json?: boolean;
  backend: BackendChoice;
  path: ScorerPathSetting;
  progress: boolean;
}

interface Scored {
  trajectory: Trajectory;
  positive: boolean;
  outcome: ScoreOutcome;
}

/** Scores the labelled records of the file batch by batch (unlabelled ones are not scored at all). */
async function scoreFile(
  scorer: PrismScorer,
  flags: RoutingFlags,
  spec: LabelSpec,
  /** `read`: records read so far (labelled or not), for progress and lag. */
  onBatch: (scored: readonly Scored[], read: number) => void,
): Promise<{ read: number; invalid: number; unlabelled: number }> {
  const [{ readRecordFile }, { reportInvalid }, { validateTrajectory }, { labelOf }] = await Promise.all([
    import('../../io/files.ts'),
    import('../../io/report.ts'),
    import('../validate-records.ts'),
    import('../../eval/labels.ts'),
  ]);
  const invalid = reportInvalid(flags.in);
  let read = 0;
  let unlabelled = 0;
  let pending: { trajectory: Trajectory; positive: boolean }[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    let outcomes: ScoreOutcome[];
    try {
      outcomes = await scorer.scoreBatch(batch.map((p) => p.trajectory));
    } catch (err) {
      // The backend itself failed: count the batch as unscored rather than abort the evaluation.
      const error = err instanceof PrismError ? err : new PrismError('SCORING_FAILED', errorMessage(err));
      outcomes = batch.map(() => ({ ok: false as const, error }));
    }
    onBatch(
      batch.map((p, i) => ({ ...p, outcome: outcomes[i] })),
      read,
    );
  };
  for await (const r of readRecordFile(flags.in, 'trajectory')) {
    read++;
    if (!r.ok) {
      invalid.add(r.position, r.error);
      continue;
    }
    try {
      const trajectory = validateTrajectory(r.value);
      const positive = labelOf(trajectory.metadata, spec);
      if (positive === null) unlabelled++;
      else pending.push({ trajectory, positive });
    } catch (err) {
      if (!(err instanceof PrismError)) throw err;
      invalid.add(r.position, err);
    }
    if (pending.length >= flags.batch) await flush();
  }
  await flush();
  return { read, invalid: invalid.count, unlabelled };
}

async function countRecords(path: string): Promise<number> {
  if (path === '-') return 0;
  const { readRecordFile } = await import('../../io/files.ts');
  let n = 0;
  for await (const _ of readRecordFile(path, 'trajectory')) n++;
  return n;
}

/** The two variants beyond the paper, from each record's norm vector (gini_relative in file order). */
interface VariantEvaluators {
  readonly relative: MetricEvaluator;
  readonly sized: MetricEvaluator;
}

/** Collects scored, labelled records and the throughput/lag series as batches come back. */
function collector(total: number, variants: VariantEvaluators, onRead: (read: number) => void) {
  const records: EvalRecord[] = [];
  const series: RateSample[] = [];
  const failedByCode: Record<string, number> = {};
  let failed = 0;
  let done = 0;
  let last = { t: Date.now(), done: 0 };
  const onBatch = (batch: readonly Scored[], read: number): void => {
    for (const { trajectory: t, positive: label, outcome: o } of batch) {
      done++;
      if (!o.ok) {
        failed++;
        failedByCode[o.error.code] = (failedByCode[o.error.code] ?? 0) + 1;
        continue;
      }
      const { gini, kurtosis, cv, l2, response_tokens: responseTokens } = o.scores;
      records.push({
        id: t.id,
        family: t.metadata.family ?? null,
        positive: label,
        scores: {
          gini,
          kurtosis,
          cv,
          l2,
          gini_relative: variants.relative.value(o.scores),
          gini_size: variants.sized.value(o.scores),
        },
        responseTokens,
      });
    }
    const now = Date.now();
    series.push({
      t: now,
      recordsPerSec: (done - last.done) / Math.max(1e-3, (now - last.t) / 1000),
      lag: total > 0 ? Math.max(0, total - read) : null,
    });
    last = { t: now, done };
    onRead(read);
  };
  return { records, series, failedByCode, onBatch, scoringFailed: () => failed };
}

/** The self-contained HTML report of `--html`: the distribution of `--html-metric` and its median split. */
async function writeRoutingHtml(
  flags: RoutingFlags,
  records: readonly EvalRecord[],
  series: readonly RateSample[],
  report: EvalRoutingReport,
): Promise<void> {
  const { writeReport } = await import('../../report/index.ts');
  const evaluation = report.evaluation;
  const m = flags.htmlMetric;
  const row = evaluation.rows.find((r) => r.router === 'prism' && r.metric === m);
  const threshold = row?.threshold ?? null;
  await writeReport(
    {
      title: `prism eval routing: ${flags.in}`,
      metric: m,
      threshold,
      records: records.flatMap((r) => {
        const score = r.scores[m];
        if (score === undefined || !Number.isFinite(score)) return [];
        const route = threshold !== null && score > threshold ? ('RL' as const) : ('SFT' as const);
        return [{ id: r.id, family: r.family, score, route }];
      }),
      series: [...series],
      evaluation: { label: report.label.rule, result: evaluation },
      notes: [
        `Probe ${report.probe.modelId}@${report.probe.version} on ${report.probe.backend}; routes are the median split of ${m} over this file.`,
        'Throughput is offline scoring speed per micro-batch; lag is the number of records not yet scored.',
      ],
    },
    flags.html as string,
  );
}

/** The stdout summary: counts, the label rule, the routing table and the per-family table. */
function routingText(
  flags: RoutingFlags,
  report: EvalRoutingReport,
  format: { routing: (e: RoutingEvaluation) => string; families: (e: RoutingEvaluation) => string },
): string {
  const c = report.counts;
  const evaluation = report.evaluation;
  return [
    `input ${flags.in}: ${c.read} read, ${c.invalid} invalid, ${c.scoringFailed} not scorable, ${c.unlabelled} unlabelled, ${c.evaluated} evaluated ` +
      `(${evaluation.positives} positive, ${evaluation.negatives} negative)`,
    `positive: ${report.label.rule}`,
    `probe ${report.probe.modelId}@${report.probe.version} (${report.probe.backend}); RL = score > median of the file; random router seed ${flags.seed}; length = response tokens as the score`,
    '',
    format.routing(evaluation),
    '',
    format.families(evaluation),
    '',
  ].join('\n');
}

async function runRouting(flags: RoutingFlags): Promise<void> {
  if (flags.maxSeqLen < 2) throw new ConfigError('--max-seq-len must be at least 2');
  const [{ fileFormatOf }, { progressBar }, { log }, { openPrismScorer }, ev] = await Promise.all([
    import('../../io/files.ts'),
    import('../../io/progress.ts'),
    import('../../log.ts'),
    import('../../scorer-host/open.ts'),
    import('../../eval/index.ts'),
  ]);
  const { describeLabel, EvalError, evaluateRouting, formatFamilyTable, formatRoutingTable } = ev;
  fileFormatOf(flags.in); // fails early on an unknown extension
  const positive = flags.positive
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (flags.labelKey.trim() === '' || positive.length === 0)
    throw new ConfigError('--label-key and --positive must not be empty');
  const spec: LabelSpec = { key: flags.labelKey, positive };

  // Known up front for the progress bar and the report's lag (records not yet scored).
  const total = await countRecords(flags.in);
  const { readModelConfig } = await import('../../model-store/folder.ts');
  const { MetricEvaluator, projectionNumel } = await import('../../arbitration/metric.ts');
  const relative = new MetricEvaluator('gini_relative');
  const sized = new MetricEvaluator('gini_size', projectionNumel(await readModelConfig(flags.model)));
  const { scorer } = await openPrismScorer(
    {
      modelDir: flags.model,
      emitNorms: true,
      backend: flags.backend,
      path: flags.path,
      batchSize: flags.batch,
      maxSeqLen: flags.maxSeqLen,
    },
    { logger: log },
  );
  const bar: Progress | undefined =
    flags.progress && process.stderr.isTTY && total > 0 ? progressBar('eval', total, 'records') : undefined;
  const collected = collector(total, { relative, sized }, (read) => bar?.update(read));
  const { records, series, failedByCode } = collected;
  let counts: { read: number; invalid: number; unlabelled: number };
  try {
    counts = await scoreFile(scorer, flags, spec, collected.onBatch);
  } finally {
    bar?.stop();
    scorer.dispose();
  }

  if (records.length === 0) {
    throw new EvalError(
      'EVAL_EMPTY',
      `nothing to evaluate in ${flags.in}: ${counts.read} read, ${counts.invalid} invalid, ${counts.unlabelled} without metadata.${spec.key}, ` +
        `${collected.scoringFailed()} not scorable (check --label-key / --positive)`,
    );
  }
  const evaluation = evaluateRouting(records, flags.seed);
  const report: EvalRoutingReport = {
    kind: 'prism.eval.routing/1',
    input: flags.in,
    probe: { modelId: scorer.probeModelId, version: scorer.probeModelVersion, backend: scorer.backend },
    label: { ...spec, rule: describeLabel(spec) },
    counts: {
      read: counts.read,
      invalid: counts.invalid,
      scoringFailed: collected.scoringFailed(),
      unlabelled: counts.unlabelled,
      evaluated: records.length,
    },
    evaluation,
  };
  if (collected.scoringFailed() > 0)
    log.warn(
      { scoringFailed: collected.scoringFailed(), byCode: failedByCode },
      'eval: some records could not be scored and are left out',
    );
  if (flags.out !== undefined) {
    await mkdir(dirname(flags.out), { recursive: true });
    await writeFile(flags.out, `${JSON.stringify(report, null, 2)}\n`);
  }
  if (flags.html !== undefined) await writeRoutingHtml(flags, records, series, report);
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    routingText(flags, report, { routing: formatRoutingTable, families: formatFamilyTable }),
  );
}

export function register(program: Command): void {
  const evalCmd = program.command('eval').description('evaluate PRISM routing offline against labels');
  evalCmd
    .command('routing')
    .description(
      'score a file and measure how well each metric’s median split separates a labelled class (AUC, confusion); ' +
        'metrics: gini, kurtosis, cv, l2 and the variants gini_relative (norms over their running mean) and gini_size (norms over √numel)',
    )
    .requiredOption('--model <dir>', 'probe model folder (config.json + *.safetensors)')
    .requiredOption('--in <file>', 'trajectories: .jsonl/.ndjson or .avro; - for JSONL on stdin')
    .option('--label-key <key>', 'metadata key holding the label', DEFAULT_LABEL.key)
    .option(
      '--positive <values>',
      'comma-separated metadata values of the positive class (family=conflict also matches metadata.conflict="true")',
      DEFAULT_LABEL.positive.join(','),
    )
    .option('--batch <n>', 'trajectories per micro-batch', positiveInt, 16)
    .option('--max-seq-len <t>', 'tokens per trajectory (longer ones are truncated)', positiveInt, 1024)
    .option('--seed <s>', 'seed of the random-routing baseline', integer, 1)
    .option('--out <file>', 'also write the full result as JSON to this file')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option(
      '--html-metric <m>',
      `metric plotted in the HTML report: ${METRICS.join(' | ')}`,
      oneOf(METRICS),
      'gini',
    )
    .option('--json', 'print the JSON result on stdout instead of the table')
    .option('--backend <b>', `tfjs backend: ${BACKEND_CHOICES.join(' | ')}`, oneOf(BACKEND_CHOICES), 'auto')
    .option(
      '--path <p>',
      `scorer path: ${SCORER_PATHS.join(' | ')} (auto times both on the first batch)`,
      oneOf(SCORER_PATHS),
      'auto',
    )
    .option('--no-progress', 'no progress bar on stderr')
    .action(runRouting);
}
