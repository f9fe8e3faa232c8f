import { InvalidArgumentError, Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { ensureKafkaJars, type FetchProgress } from '../../kafka/local/fetch-jars.ts';
import {
  DEFAULT_CLIENT_PORT,
  DEFAULT_CONTROLLER_PORT,
  DEFAULT_SECURE_PORT,
  localBrokerDown,
  localBrokerStatus,
  localBrokerUp,
} from '../../kafka/local/broker.ts';
import { defaultRunDir } from '../../kafka/local/paths.ts';
import { brokerAddress, type BrokerState } from '../../kafka/local/state.ts';
import {
  DEFAULT_KAFKA_VERSION,
  SUPPORTED_KAFKA_VERSIONS,
  parseKafkaVersion,
} from '../../kafka/local/versions.ts';

/** `prism kafka status` exit code when no broker runs (LSB "program is not running"). */
export const STATUS_NOT_RUNNING_EXIT = 3;

/** commander parser for a TCP port. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('expected a port in 1..65535');
  return n;
}

function versionOption(): Option {
  return new Option('--kafka-version <version>', 'Kafka version of the local broker')
    .choices([...SUPPORTED_KAFKA_VERSIONS])
    .default(DEFAULT_KAFKA_VERSION);
}

/** Shows mvn downloads on stderr: a live counter on a TTY, start/end lines otherwise. */
function fetchReporter(version: string): { progress: (p: FetchProgress) => void; stop: () => void } {
  const started = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  return {
    progress: (p) => {
      if (bar === undefined) {
        process.stderr.write(`fetching Kafka ${version} jars from Maven Central (mvn)...\n`);
        bar = new cliProgress.SingleBar(
          { format: '  {value} artifacts downloaded  {artifact}', stream: process.stderr, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Number.MAX_SAFE_INTEGER, 0, { artifact: '' });
      }
      bar.update(p.downloaded, { artifact: p.artifact });
    },
    stop: () => {
      if (bar === undefined) return;
      bar.stop();
      process.stderr.write(
        `fetched Kafka ${version} jars in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    },
  };
}

function describe(state: BrokerState): string {
  return (
    `Kafka ${state.version} at ${brokerAddress(state)} (controller 127.0.0.1:${state.controllerPort}, pid ${state.pid})\n` +
    `  data: ${state.dataDir}\n  log:  ${state.logPath}\n  run:  ${state.runDir}` +
    (state.secure === undefined
      ? ''
      : `\n  secure: SASL_SSL at 127.0.0.1:${state.secure.port} (${state.secure.mechanism}, user ${state.secure.username})` +
        `\n    ca:       ${state.secure.caFile}\n    password: ${state.secure.passwordFile} (0600; the value is never printed)`)
  );
}

interface UpOptions {
  kafkaVersion: string;
  port: number;
  controllerPort: number;
  secure?: boolean;
  securePort: number;
}

async function up(opts: UpOptions): Promise<void> {
  const version = parseKafkaVersion(opts.kafkaVersion);
  const report = fetchReporter(version);
  const res = await localBrokerUp({
    version,
    clientPort: opts.port,
    controllerPort: opts.controllerPort,
    securePort: opts.secure === true ? opts.securePort : undefined,
    onFetchProgress: report.progress,
    onFetchDone: report.stop,
  });
  if (!res.started) {
    process.stdout.write(`already running: ${describe(res.state)}\n`);
    if (
      res.state.version !== version ||
      res.state.clientPort !== opts.port ||
      (opts.secure === true) !== (res.state.secure !== undefined)
    ) {
      process.stderr.write(
        'note: it differs from the requested version/port; run `prism kafka down` first to change it\n',
      );
    }
    return;
  }
  process.stdout.write(`started: ${describe(res.state)}\n`);
  process.stdout.write(
    `brokers: ${brokerAddress(res.state)}  (PRISM_KAFKA_BROKERS=${brokerAddress(res.state)})\n`,
  );
  const sec = res.state.secure;
  if (sec !== undefined) {
    process.stdout.write(
      `secure clients: PRISM_KAFKA_BROKERS=127.0.0.1:${sec.port} PRISM_KAFKA_SSL_CA_FILE=${sec.caFile} ` +
        `PRISM_KAFKA_SASL_MECHANISM=${sec.mechanism} PRISM_KAFKA_SASL_USERNAME=${sec.username} PRISM_KAFKA_SASL_PASSWORD_FILE=${sec.passwordFile}\n`,
    );
  }
}

export function register(program: Command): void {
  const kafka = program
    .command('kafka')
    .description(
      `local single-node Kafka (KRaft) for development, from Maven Central jars; state in ${defaultRunDir()}`,
    );

  kafka
    .command('fetch')
    .description('download the broker jars into the cache (skipped when already complete)')
    .addOption(versionOption())
    .action(async (opts: { kafkaVersion: string }) => {
      const version = parseKafkaVersion(opts.kafkaVersion);
      const report = fetchReporter(version);
      process.stderr.write(`checking Kafka ${version} jar cache...\n`);
      const res = await ensureKafkaJars({ version, onProgress: report.progress }).finally(report.stop);
      process.stdout.write(
        `${res.fetched ? 'fetched' : 'cached'}: Kafka ${version}, ${res.jarCount} jars in ${res.libsDir}\n`,
      );
    });

  kafka
    .command('up')
    .description('start the local broker (idempotent: reports an already running one)')
    .addOption(versionOption())
    .option('--port <n>', 'client (PLAINTEXT) port on 127.0.0.1', parsePort, DEFAULT_CLIENT_PORT)
    .option('--controller-port <n>', 'KRaft controller port on 127.0.0.1', parsePort, DEFAULT_CONTROLLER_PORT)
    .option('--secure', 'also listen with SASL_SSL (SCRAM-SHA-512 user + self-signed CA in the run dir)')
    .option('--secure-port <n>', 'SASL_SSL port on 127.0.0.1 (with --secure)', parsePort, DEFAULT_SECURE_PORT)
    .action(up);

  kafka
    .command('down')
    .description('stop the local broker (SIGTERM, SIGKILL after 30 s) and delete its data dir')
    .action(async () => {
      const res = await localBrokerDown();
      if (res.state === undefined) process.stdout.write('not running\n');
      else if (!res.wasRunning)
        process.stdout.write(`not running (cleared stale state of pid ${res.state.pid})\n`);
      else
        process.stdout.write(
          `stopped Kafka ${res.state.version} (pid ${res.state.pid}${res.killed ? ', SIGKILL' : ''})\n`,
        );
    });

  kafka
    .command('status')
    .description(`show whether the local broker runs (exit ${STATUS_NOT_RUNNING_EXIT} when it does not)`)
    .option('--json', 'print the state as JSON')
    .action(async (opts: { json?: boolean }) => {
      const status = await localBrokerStatus();
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify(status)}\n`);
      } else if (status.running) {
        process.stdout.write(
          `${status.accepting ? 'running' : 'starting/stopping (port not accepting yet)'}: ${describe(status.state)}\n`,
        );
      } else {
        process.stdout.write(
          `not running${status.stale ? ` (stale state of pid ${status.stale.pid})` : ''}\n`,
        );
      }
      if (!status.running) process.exitCode = STATUS_NOT_RUNNING_EXIT;
    });
}
