import { InvalidArgumentError, type Command } from 'commander';
import { PLAIN_LOOP_RETRY_MS, startPlainLoop } from '../../../bench/pipeline/baseline.ts';
import { PIPELINE_COLUMNS, type PipelineColumn } from '../../../bench/pipeline/columns.ts';
import { startMeta } from '../../../bench/machine.ts';
import { pipelineTable } from '../../../bench/report/pipeline-table.ts';
import { writeResult } from '../../../bench/results.ts';
import { listOf, positiveInt, positiveNumber, progressBar, resultsDir } from './common.ts';

interface PipelineFlags {
  brokers?: string;
  columns: PipelineColumn[];
  records?: number;
  modelRecords?: number;
  warmRecords: number;
  latencySeconds?: number;
  latencyLoad: number;
  partitions: number;
  seq: number;
  stallSeconds: number;
  quick?: boolean;
  results?: string;
}

function fraction(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError('expected a number in (0, 1]');
  return n;
}

function brokerList(v: string | undefined): string[] | undefined {
  const list = (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list.length === 0 ? undefined : list;
}

export function registerPipeline(bench: Command): void {
  registerPipelineBench(bench);
  registerPipelineBaseline(bench);
}

function registerPipelineBench(bench: Command): void {
  bench
    .command('pipeline')
    .description(
      'records/s, p50/p99 end-to-end latency and peak RSS: plain kafkajs transactional loop vs prism run (noop scorer, tiny model); writes bench/results/pipeline.json',
    )
    .option('--brokers <list>', 'use this broker instead of starting a private one on ephemeral ports')
    .option('--columns <list>', `which columns (${PIPELINE_COLUMNS.join(',')})`, listOf(PIPELINE_COLUMNS), [
      ...PIPELINE_COLUMNS,
    ])
    .option(
      '--records <n>',
      'drain-phase records for plain and noop (default 20000; --quick 3000)',
      positiveInt,
    )
    .option(
      '--model-records <n>',
      'drain-phase records for the tiny model (default 2000; --quick 400)',
      positiveInt,
    )
    .option('--warm-records <n>', 'warm-up records per column (≥ arbitration.warmup, 256)', positiveInt, 512)
    .option(
      '--latency-seconds <s>',
      'length of the paced latency phase (default 30; --quick 10)',
      positiveNumber,
    )
    .option('--latency-load <f>', 'paced input rate as a fraction of the column’s drain rate', fraction, 0.5)
    .option('--partitions <n>', 'input/output partitions', positiveInt, 2)
    .option('--seq <t>', 'scored positions per trajectory', positiveInt, 128)
    .option(
      '--stall-seconds <s>',
      'fail when no output arrives for this long (start-up included)',
      positiveNumber,
      180,
    )
    .option('--quick', 'small counts for checking the tooling (writes pipeline.quick.json)')
    .option('--results <dir>', 'results folder (default bench/results)')
    .action(benchPipeline);
}

/** `prism bench pipeline`: runs the columns with a progress bar, writes and prints the result. */
async function benchPipeline(flags: PipelineFlags): Promise<void> {
  const quick = flags.quick === true;
  const meta = startMeta({ quick });
  const bar = progressBar('pipeline [{bar}] {value}/{total} {column} {phase}');
  let current = '';
  // Loaded on use: the runner pulls in tfjs (model writing) and the broker code.
  const [{ runPipelineBench }, { log }] = await Promise.all([
    import('../../../bench/pipeline/run.ts'),
    import('../../../log.ts'),
  ]);
  const result = await runPipelineBench({
    brokers: brokerList(flags.brokers),
    columns: flags.columns,
    records: flags.records ?? (quick ? 3000 : 20_000),
    modelRecords: flags.modelRecords ?? (quick ? 400 : 2000),
    warmRecords: flags.warmRecords,
    latencySeconds: flags.latencySeconds ?? (quick ? 10 : 30),
    latencyLoad: flags.latencyLoad,
    partitions: flags.partitions,
    seq: flags.seq,
    stallMs: flags.stallSeconds * 1000,
    logger: log,
    meta,
    onProgress: (column, phase, done, total) => {
      if (bar === undefined) return;
      const key = `${column}/${phase}`;
      if (key !== current) {
        current = key;
        bar.stop();
        bar.start(total, done, { column, phase });
      } else bar.update(done, { column, phase });
    },
  }).finally(() => bar?.stop());
  const path = await writeResult(resultsDir(flags.results), result);
  process.stdout.write(
    `load ${result.meta.loadStart.join('/')} → ${result.meta.loadEnd.join('/')} · broker ${result.broker.brokers.join(',')}\n\n${pipelineTable(result)}\n\nwrote ${path}\n`,
  );
}

interface BaselineFlags {
  brokers: string;
  group: string;
  input: string;
  output: string;
  batchSize: number;
  concurrency: number;
  initialRetryMs: number;
}

/** The hidden `prism bench pipeline-baseline` child: the plain loop until SIGTERM/SIGINT. */
async function pipelineBaseline(f: BaselineFlags): Promise<void> {
  // Loaded on use: kafkajs and the client config (zod) are not needed to register the command.
  const [{ createKafka }, { log }] = await Promise.all([
    import('../../../kafka/client.ts'),
    import('../../../log.ts'),
  ]);
  const kafka = createKafka({
    brokers: brokerList(f.brokers) ?? [],
    clientId: 'prism-bench-plain',
    logger: log.child({ component: 'kafkajs' }),
    // The expected CONCURRENT_TRANSACTIONS retries would log two lines per transaction; failures still throw.
    logLevel: 'nothing',
    retry: { initialRetryTime: f.initialRetryMs },
  });
  const loop = await startPlainLoop({
    kafka,
    groupId: f.group,
    input: f.input,
    output: f.output,
    batchSize: f.batchSize,
    concurrency: f.concurrency,
    log,
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await loop.stop();
  setTimeout(() => process.exit(0), 200).unref();
}

/** The plain loop runs as its own `prism` child, like `prism run`, so both pay the same start-up and loader costs. */
function registerPipelineBaseline(bench: Command): void {
  bench
    .command('pipeline-baseline', { hidden: true })
    .description('(used by bench pipeline) plain kafkajs transactional consume→produce loop until SIGTERM')
    .requiredOption('--brokers <list>')
    .requiredOption('--group <id>')
    .requiredOption('--input <topic>')
    .requiredOption('--output <topic>')
    .option('--batch-size <n>', 'records per transaction at most', positiveInt, 64)
    .option('--concurrency <n>', 'partitions processed at once', positiveInt, 4)
    .option(
      '--initial-retry-ms <n>',
      'kafkajs initialRetryTime (see PLAIN_LOOP_RETRY_MS)',
      positiveInt,
      PLAIN_LOOP_RETRY_MS,
    )
    .action(pipelineBaseline);
}
