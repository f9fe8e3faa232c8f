import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeReport } from '../report/index.ts';
import type { RateSample } from '../report/types.ts';
import type { Metric } from '../schemas/types.ts';
import type { TrainerKind } from '../trainer/types.ts';
import type { DemoBroker } from './broker.ts';
import type { TrainerProgress } from './components.ts';
import type { DemoSettings } from './settings.ts';
import {
  evaluateTapped,
  familyRows,
  formatSummary,
  reportInput,
  type DemoSummary,
  type Phase,
  type TrainerSummary,
} from './summary.ts';
import type { OutputTap } from './tap.ts';
import type { WarmStartResult } from './warm-start.ts';

export interface OutcomeInput {
  readonly settings: DemoSettings;
  readonly metric: Metric;
  readonly tap: OutputTap;
  readonly progress: Record<TrainerKind, TrainerProgress>;
  readonly produced: number;
  /** First record produced → last routing output read back. */
  readonly throughputSeconds: number;
  readonly broker: DemoBroker;
  readonly model: WarmStartResult;
  readonly backend: string;
  readonly dashboardUrl: string | null;
  readonly reportPath: string;
  readonly logPath: string;
  readonly phases: readonly Phase[];
  readonly totalSeconds: number;
}

const MODEL_IDS: Record<TrainerKind, string> = { sft: 'demo-sft', rl: 'demo-rl' };

function trainerSummary(i: OutcomeInput, kind: TrainerKind): TrainerSummary {
  const c = i.tap.snapshot;
  const p = i.progress[kind];
  const routed = kind === 'sft' ? c.sft : c.rl;
  const dead = kind === 'sft' ? c.dlqSft : c.dlqRl;
  const versions = i.tap.versions.filter((v) => v.modelId === MODEL_IDS[kind]);
  return {
    steps: p.steps,
    records: p.records,
    untrained: Math.max(0, routed - p.records - dead),
    deadLettered: dead,
    lastLoss: p.loss,
    lastVersion: versions.reduce<(typeof versions)[number] | null>(
      (a, v) => (a === null || v.step >= a.step ? v : a),
      null,
    ),
    versionsPublished: versions.length,
  };
}

/** The demo's result, from what was read back from the output topics. */
export function buildSummary(i: OutcomeInput): DemoSummary {
  const c = i.tap.snapshot;
  const routed = i.tap.routed;
  return {
    kind: 'prism.demo.summary/1',
    profile: i.settings.profile,
    produced: i.produced,
    counts: {
      sft: c.sft,
      rl: c.rl,
      dlq: c.dlqInput,
      dlqByCode: Object.fromEntries(i.tap.dlqCodes),
      distinctRouted: c.distinctRouted,
      undecodable: c.undecodable,
    },
    metric: i.metric,
    threshold: i.tap.lastThreshold,
    rlShare: c.sft + c.rl === 0 ? null : c.rl / (c.sft + c.rl),
    families: familyRows(i.tap),
    throughput: {
      records: routed,
      seconds: i.throughputSeconds,
      perSecond: i.throughputSeconds > 0 ? routed / i.throughputSeconds : 0,
    },
    evaluation: evaluateTapped(i.tap),
    trainers: { sft: trainerSummary(i, 'sft'), rl: trainerSummary(i, 'rl') },
    broker: { address: i.broker.address, pid: i.broker.state.pid, defaultPorts: i.broker.defaultPorts },
    model: {
      dir: i.model.dir,
      cached: i.model.cached,
      steps: i.model.steps,
      firstLoss: i.model.firstLoss,
      lastLoss: i.model.lastLoss,
    },
    backend: i.backend,
    dashboardUrl: i.dashboardUrl,
    reportPath: i.reportPath,
    logPath: i.logPath,
    phases: i.phases,
    totalSeconds: i.totalSeconds,
    loadAverage: loadavg(),
    cpus: availableParallelism(),
  };
}

/** Writes the HTML report and summary.json, then prints the summary. */
export async function publishOutcome(
  summary: DemoSummary,
  tap: OutputTap,
  series: readonly RateSample[],
  dir: string,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (summary.reportPath !== null) await writeReport(reportInput(summary, tap, series), summary.reportPath);
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  out.write(formatSummary(summary));
  if (summary.reportPath !== null) out.write(`open it: ${pathToFileURL(summary.reportPath).href}\n`);
}
