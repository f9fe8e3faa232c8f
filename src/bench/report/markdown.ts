import type { RunMeta } from '../machine.ts';
import { describeMachine } from '../machine.ts';
import type { PipelineResult } from '../pipeline/run.ts';
import type { ScorerBackendsResult } from '../scorer-backends.ts';
import type { SweepResult } from '../scorer-sweep.ts';
import type { SoakResult } from '../soak.ts';
import type { TorchResult } from '../torch.ts';
import { backendsHeadline, backendsTable } from './backends-table.ts';
import { fmt, pct, ratio, sig } from './format.ts';
import { pipelineTable } from './pipeline-table.ts';
import { soakTable } from './soak-table.ts';
import { sweepTable } from './sweep-table.ts';
import { torchTable, torchVersions } from './torch-table.ts';

/** The results `bench report` found (each optional) and where their figures were written (relative links). */
export interface ReportInput {
  sweep?: SweepResult;
  pipeline?: PipelineResult;
  soak?: SoakResult;
  torch?: TorchResult;
  backends?: ScorerBackendsResult;
  figures: Partial<Record<'sweep' | 'pipeline' | 'soak' | 'torch', string>>;
}

/** The commands that produce the published numbers (run them on a quiet machine). */
export const FINAL_COMMANDS = {
  sweep: 'prism bench scorer --sweep',
  pipeline: 'prism bench pipeline',
  soak: 'prism bench soak --minutes 30',
  torch: 'prism bench torch',
  backends: 'prism bench scorer --preset tiny --batch 16 --seq 128 --backends tensorflow,wasm,cpu --record',
  report: 'prism bench report',
} as const;

function minutes(meta: RunMeta): string {
  const ms = Date.parse(meta.finishedAt) - Date.parse(meta.startedAt);
  return Number.isFinite(ms) ? `${(ms / 60_000).toFixed(1)} min` : '?';
}

function runLine(meta: RunMeta, extra = ''): string {
  const warn = meta.quick
    ? '\n\n> **Quick run** (a subset, for checking the tooling): not for publishing.'
    : '';
  const busy = meta.loadStart[0] > meta.machine.cores || meta.loadEnd[0] > meta.machine.cores;
  const noisy = busy
    ? `\n\n> **Noisy:** the 1-minute load average (${meta.loadStart[0]} at start, ${meta.loadEnd[0]} at end) was above the ${meta.machine.cores} cores: other work shared the CPU, so timings are low and unstable.`
    : '';
  return `\`$ ${meta.command}\` · ${meta.startedAt} · took ${minutes(meta)} · commit ${meta.commit ?? '?'} · load ${meta.loadStart.join('/')} → ${meta.loadEnd.join('/')}${extra}${warn}${noisy}`;
}

function figure(path: string | undefined, alt: string): string {
  return path === undefined ? '' : `\n\n![${alt}](${path})`;
}

function notRun(what: string, command: string): string {
  return `_Not run yet._ \`${command}\` writes its results to bench/results/; then \`${FINAL_COMMANDS.report}\`.`;
}

function sweepSection(r: SweepResult | undefined, fig: string | undefined): string {
  const head = '## 1. Scorer: PRISM batched vs the paper’s per-trajectory loop vs a training step';
  if (r === undefined) return `${head}\n\n${notRun('sweep', FINAL_COMMANDS.sweep)}`;
  const c = r.ceiling;
  const ref = r.rows.map((x) => x.ratios.batchedVsReference).filter(Number.isFinite);
  const best = r.rows.reduce(
    (a, b) => ((b.ratios.ofCeiling?.batched ?? 0) > (a.ratios.ofCeiling?.batched ?? 0) ? b : a),
    r.rows[0],
  );
  const lines = [
    head,
    '',
    runLine(r.meta),
    ...(r.rows.length < r.planned
      ? ['', `> **Interrupted:** ${r.rows.length} of ${r.planned} configurations finished.`]
      : []),
    '',
    `Backend **${r.backend.kind}** (${r.threads} thread(s)), ${r.reps} timed repetition(s) per row after one warm-up, random-weight presets (seed 0), synthetic trajectories of exactly T scored positions (¼ prompt, ¾ assistant). Rows: *batched* = the PRISM scorer's probe-gradient path; *per-traj* = one backward per trajectory w.r.t. the projection weights only; *paper loop* = the paper's method, one full backward per trajectory (every weight) then the per-matrix norms; *train step* = one plain batched forward+backward with every weight gradient (no optimizer). GFLOP/s = analytic FLOPs (src/scorer/flops.ts) / wall time.`,
    '',
    c === null
      ? 'fp32 matmul ceiling: not measured (`--no-ceiling`).'
      : `**fp32 matmul ceiling: ${fmt(c.gflops, 1)} GFLOP/s** (${c.method}, ${c.threads} thread(s)). How: ${c.description}. Per run: ${c.runs.map((x) => `${x.method} ${x.threads}t best ${fmt(x.bestGflops, 1)} / median ${fmt(x.medianGflops, 1)}`).join('; ')}.${c.skipped.length > 0 ? ` Skipped: ${c.skipped.join('; ')}.` : ''}`,
    '',
    sweepTable(r),
    '',
    `Headline: batched vs paper loop ${ref.length > 0 ? `${ratio(Math.min(...ref))} … ${ratio(Math.max(...ref))}` : '—'} across the grid; best share of the ceiling ${best === undefined ? '—' : `${pct(best.ratios.ofCeiling?.batched ?? null)} (batched, ${best.preset} ${best.batch}×${best.seq})`}.`,
  ];
  return lines.join('\n') + figure(fig, 'scorer sweep');
}

function pipelineSection(r: PipelineResult | undefined, fig: string | undefined): string {
  const head = '## 2. Pipeline: `prism run` vs a plain kafkajs transactional loop';
  if (r === undefined) return `${head}\n\n${notRun('pipeline', FINAL_COMMANDS.pipeline)}`;
  const s = r.settings;
  const lines = [
    head,
    '',
    runLine(r.meta),
    '',
    `Broker: ${r.broker.ownBroker ? `a private Kafka ${r.broker.version ?? ''} started by the bench on ephemeral ports (src/kafka/local)` : `external ${r.broker.brokers.join(',')}`}. ${s.partitions} partitions per topic, trajectories of ${s.seq} scored tokens (Avro), prism defaults (batch.size ${s.batchSize}, batch.maxWaitMs ${s.batchMaxWaitMs}, median policy, warm-up ${s.warmup}, exactly-once). Each column is its own child process on fresh topics: ${s.warmRecords} warm-up records, then a drain of ${s.records} records (${s.modelRecords} for the tiny model) appended at once to the warm pipeline — records/s = N / (last output visible − first input appended) — then ${s.latencySeconds} s of open-loop input at ${Math.round(s.latencyLoad * 100)} % of that rate for latency.`,
    '',
    "**End-to-end latency** = the time the record's output became visible to a read_committed consumer (the bench's observer; fetch wait ≤ 50 ms) − the input record's broker append time (input topic with `message.timestamp.type=LogAppendTime`). \"Own metric\" = the pipeline's `prism_end_to_end_seconds` histogram (its transaction commit time − append time) over the same phase, read from /metrics (bucket-interpolated). **Peak RSS** = VmHWM of the child from /proc/<pid>/status; steady RSS = median VmRSS during the latency phase.",
    '',
    pipelineTable(r),
    '',
    ...r.columns.map(
      (c) =>
        `- **${c.name}**: ${c.description}. ${c.notes.length > 0 ? `Child logged: ${c.notes.join('; ')}. ` : ''}${c.latency.missing > 0 ? `**Fell behind:** ${c.latency.missing} paced records had no output when the wait ended. ` : ''}\`${c.command.replace(/--model \S+/, '--model <tiny model dir>')}\``,
    ),
    '',
    `Headline: prism run (noop) ${ratio(r.ratios.noopVsPlain)} and prism run (tiny model) ${ratio(r.ratios.tinyVsPlain)} of the plain loop's records/s.`,
  ];
  return lines.join('\n') + figure(fig, 'pipeline');
}

function soakSection(r: SoakResult | undefined, fig: string | undefined): string {
  const head = '## 3. Soak: memory and live tensors while streaming (tiny model)';
  if (r === undefined) return `${head}\n\n${notRun('soak', FINAL_COMMANDS.soak)}`;
  const v = r.verdict;
  return (
    [
      head,
      '',
      runLine(r.meta),
      '',
      `\`prism run\` with the tiny model as a child process, ${r.settings.warmupRecords} warm-up records, then open-loop input at ${sig(r.settings.rate)} records/s for ${r.settings.minutes} min. Every ${r.settings.intervalSeconds} s the bench reads VmRSS from /proc/<pid>/status and scrapes /metrics (\`prism_tfjs_tensors\` = tf.memory().numTensors, \`nodejs_heap_size_used_bytes\`). Verdict on the samples after the first 20 % of the run: tensors flat = no change at all; RSS flat = least-squares growth over the window below max(16 MiB, 5 % of the median) (shrinking counts as flat: it is not a leak).`,
      '',
      soakTable(r),
      '',
      `Headline: live tensors ${v.tensorsFlat ? 'flat' : '**not flat**'} (${v.tensorsMin ?? '?'}…${v.tensorsMax ?? '?'}), RSS ${v.rssFlat ? 'flat' : '**not flat**'} (${fmt(v.rssSlopeMiBPerMin, 2)} MiB/min). The child logged: ${r.notes.join('; ') || '?'}.`,
    ].join('\n') + figure(fig, 'soak')
  );
}

function torchSection(r: TorchResult | undefined, fig: string | undefined): string {
  const head = '## 4. PyTorch comparator: the paper’s method in transformers vs ours';
  if (r === undefined)
    return `${head}\n\n${notRun('torch', FINAL_COMMANDS.torch)} (needs bench/pytorch/setup-venv.sh or PRISM_TORCH_PYTHON; optional, not in CI)`;
  return (
    [
      head,
      '',
      runLine(r.meta),
      '',
      `Same model folder (random preset, seed 0, saved by prism as a Hugging Face folder), same token ids, targets and masks (exported from prism's sequence builder), same thread count on both sides (each count in fresh processes: TensorFlow and OpenMP size their pools at start). PyTorch side: bench/pytorch/prism_torch.py — per trajectory one forward, the masked mean next-token loss, one full backward (every weight, as in the paper), the Frobenius norm of each projection's gradient. ${torchVersions(r)}. The last two columns compare the two implementations' norms and losses on the same trajectories (a correctness cross-check).`,
      '',
      torchTable(r),
      '',
      `Headline: ${r.rows.map((x) => `${x.preset} at ${x.threads} thread(s): ours (paper loop) ${ratio(x.referenceVsTorch)}, ours (batched) ${ratio(x.batchedVsTorch)} PyTorch's trajectories/s`).join('; ')}.`,
    ].join('\n') + figure(fig, 'pytorch comparison')
  );
}

function backendsSection(r: ScorerBackendsResult | undefined): string {
  const head = '## 5. Scorer across backends (tfjs-node vs wasm vs cpu)';
  if (r === undefined) return `${head}\n\n${notRun('backends', FINAL_COMMANDS.backends)}`;
  const model = r.backends[0]?.bench.model;
  return [
    head,
    '',
    runLine(r.meta),
    '',
    `Same model on every backend (${r.source}${model === undefined ? '' : `: ${model.layers} layers, d ${model.hidden}, vocab ${model.vocab}, ${(model.parameters / 1e6).toFixed(2)} M params`}), batch ${r.batch} × seq ${r.seq}, ${r.reps} timed repetition(s) per row after one warm-up, backends one after another in one process. *tensorflow* = tfjs-node (native libtensorflow), *wasm* = @tensorflow/tfjs-backend-wasm (single-threaded under Node), *cpu* = tfjs's pure-JavaScript backend. Rows as in section 1; *auto → path* = the path the scorer's calibration chose on that backend. cpu ms = process CPU time (user + system) per batch.`,
    '',
    backendsTable(r),
    '',
    `Headline: tensorflow ${backendsHeadline(r)}.`,
  ].join('\n');
}

/** BENCHMARKS.md, regenerated from the result files alone (deterministic for given inputs). */
export function benchmarksMarkdown(input: ReportInput): string {
  const metas = [input.sweep, input.pipeline, input.soak, input.torch, input.backends]
    .filter((x) => x !== undefined)
    .map((x) => x.meta);
  const machine = metas[0]?.machine;
  return [
    '# Benchmarks',
    '',
    '<!-- Generated by `prism bench report` from bench/results/*.json and bench/hand-written/*.md. Do not edit: re-run the benchmarks and the report. -->',
    '',
    'Every number and figure below is written by the benchmark commands into `bench/results/*.json` and turned into this page by `prism bench report`; none is typed by hand, except in the sections marked hand-written, which the report copies from `bench/hand-written/*.md`. Each section names the exact command, date, commit and the load average around the run.',
    '',
    machine === undefined
      ? '_No results yet._'
      : `Machine: ${describeMachine(machine)}, ${machine.platform}.`,
    '',
    '**Reproduce** (on a quiet machine; `--quick` variants check the tooling in minutes):',
    '',
    '```sh',
    `${FINAL_COMMANDS.sweep}        # scorer grid: tiny,small × batch 8,16,32 × seq 128,256,512 + sgemm ceiling`,
    `${FINAL_COMMANDS.pipeline}              # plain loop vs prism run (noop, tiny model), private broker`,
    `${FINAL_COMMANDS.soak}    # RSS + live tensors over time`,
    `bench/pytorch/setup-venv.sh && ${FINAL_COMMANDS.torch}   # optional PyTorch comparator`,
    `${FINAL_COMMANDS.backends}   # tfjs-node vs wasm vs cpu`,
    `${FINAL_COMMANDS.report}                # regenerates this file and bench/results/plots/*.png`,
    '```',
    '',
    sweepSection(input.sweep, input.figures.sweep),
    '',
    pipelineSection(input.pipeline, input.figures.pipeline),
    '',
    soakSection(input.soak, input.figures.soak),
    '',
    torchSection(input.torch, input.figures.torch),
    '',
    backendsSection(input.backends),
    '',
  ].join('\n');
}
