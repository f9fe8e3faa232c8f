import { InvalidArgumentError, Option, type Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/choices.ts';
import { SUPPORTED_KAFKA_VERSIONS, parseKafkaVersion } from '../../kafka/local/versions.ts';

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

function share(v: string): number {
  const x = Number(v);
  if (!(x > 0 && x < 1)) throw new InvalidArgumentError('expected a number in (0, 1)');
  return x;
}

interface DemoCliFlags {
  quick?: boolean;
  n?: number;
  seed?: number;
  conflictShare?: number;
  keepRunning?: boolean;
  workDir?: string;
  report?: string;
  kafkaVersion: string;
  backend: BackendChoice;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'end-to-end demo on this machine: own Kafka broker, warm-started tiny model, a mixed stream routed to SFT/RL ' +
        'by PRISM, both trainers, live progress, a summary and an HTML report; stops everything it started',
    )
    .option('--quick', 'smaller run (240 records, 40 warm-start steps): about 3 minutes on 2 cores')
    .option('--n <n>', 'trajectories to produce (default 1000, --quick 240)', positiveInt)
    .option('--seed <s>', 'seed of the generated stream', integer)
    .option('--conflict-share <x>', 'share of tasks from conflict families (default 0.3)', share)
    .option(
      '--keep-running',
      'after the summary, keep broker, arbitrator, trainers and dashboard up until Ctrl-C',
    )
    // Not --dir: tfjs-node's node-pre-gyp parses process.argv and takes --dir for its --directory.
    .option('--work-dir <dir>', 'work folder: log, checkpoints, summary.json, report (default .prism/demo)')
    .option('--report <file>', 'HTML report path (default <dir>/report.html)')
    .addOption(
      new Option('--kafka-version <version>', 'Kafka version of the demo broker')
        .choices([...SUPPORTED_KAFKA_VERSIONS])
        .default(parseKafkaVersion(undefined)),
    )
    .addOption(
      new Option('--backend <b>', 'tfjs backend for the scorer and trainers (auto = fastest that works)')
        .choices([...BACKEND_CHOICES])
        .default('auto'),
    )
    .action(async (flags: DemoCliFlags) => {
      try {
        const { workDir, ...rest } = flags;
        // Loaded on use: the demo pulls in the whole pipeline (tfjs, kafkajs).
        const { runDemo } = await import('../../demo/run.ts');
        await runDemo({ ...rest, dir: workDir, kafkaVersion: parseKafkaVersion(flags.kafkaVersion) });
      } finally {
        // kafkajs can leave idle sockets/timers behind; they must not hold the exit.
        setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
      }
    });
}
