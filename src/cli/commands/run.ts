import { InvalidArgumentError, type Command } from 'commander';
import { BACKEND_CHOICES } from '../../backend/choices.ts';
import type { ConfigOverride } from '../../config/load.ts';
import type { PrismConfig } from '../../config/schema.ts';
import { ConfigError } from '../../errors.ts';
import type { PipelineHandle } from '../../../streams/app.ts';
import { assertModelDir } from '../model-dir.ts';
import { stopSummary } from '../stop-summary.ts';

// The pipeline (tfjs, kafkajs, zod, yaml) is imported in the action, on use, so `prism --help` and the
// other commands do not load it.

interface RunFlags {
  config?: string;
  brokers?: string;
  group?: string;
  calibrate?: string;
  model?: string;
  scorer?: string;
  policy?: string;
  quantile?: string;
  threshold?: string;
  metric?: string;
  delivery?: string;
  httpPort?: string;
  backend?: string;
  set: string[];
  describe?: boolean;
  printConfig?: boolean;
  dashboard: boolean;
}

function collect(value: string, previous: string[]): string[] {
  if (!value.includes('='))
    throw new InvalidArgumentError('expected key=value, e.g. consumer.highWatermark=500');
  return [...previous, value];
}

/** Flags → config overrides (flags win over the file and PRISM_* variables). */
function overridesFrom(flags: RunFlags): ConfigOverride[] {
  const o: ConfigOverride[] = [];
  const add = (flag: string, path: string, value: string | undefined): void => {
    if (value !== undefined) o.push({ path, value, source: `flag ${flag}` });
  };
  add('--brokers', 'kafka.brokers', flags.brokers);
  add('--group', 'consumer.groupId', flags.group);
  add('--calibrate', 'arbitration.calibrate', flags.calibrate);
  add('--model', 'scorer.modelDir', flags.model);
  add('--scorer', 'scorer.kind', flags.scorer);
  add('--policy', 'arbitration.policy', flags.policy);
  add('--quantile', 'arbitration.quantile', flags.quantile);
  add('--threshold', 'arbitration.threshold', flags.threshold);
  add('--metric', 'arbitration.metric', flags.metric);
  add('--delivery', 'delivery.mode', flags.delivery);
  add('--http-port', 'http.port', flags.httpPort);
  add('--backend', 'scorer.backend', flags.backend);
  for (const kv of flags.set) {
    const i = kv.indexOf('=');
    o.push({ path: kv.slice(0, i).trim(), value: kv.slice(i + 1), source: `flag --set ${kv}` });
  }
  return o;
}

/** Every topic must exist before we join: a typo would otherwise stall in metadata retries. */
async function checkTopics(c: PrismConfig): Promise<void> {
  const { withAdmin } = await import('../../kafka/admin/connect.ts');
  const existing = await withAdmin(c.kafka.brokers, 'list topics', (admin) => admin.listTopics(), {
    security: c.kafka,
  });
  const wanted = {
    trajectories: c.topics.trajectories,
    sft: c.topics.sft,
    rl: c.topics.rl,
    dlq: c.topics.dlq,
  } as const;
  for (const [key, name] of Object.entries(wanted)) {
    if (!existing.includes(name)) {
      throw new ConfigError(
        `topics.${key}: topic "${name}" does not exist on ${c.kafka.brokers.join(',')} (create it with "prism topics create" or rename it in config)`,
      );
    }
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'route trajectories from Kafka to SFT/RL (PRISM), exactly once; SIGTERM/SIGINT drains, commits and exits 0',
    )
    .option('--config <file>', 'YAML config (default: PRISM_CONFIG); see prism.example.yaml')
    .option('--brokers <list>', 'kafka.brokers, host:port[,host:port]')
    .option('--group <id>', 'consumer.groupId')
    .option(
      '--calibrate <file>',
      'arbitration.calibrate: JSONL of scores or scored records that seeds the window',
    )
    .option('--model <dir>', 'scorer.modelDir: probe model folder (scorer.kind prism or torch)')
    .option(
      '--scorer <kind>',
      'scorer.kind: prism | torch (PyTorch service, scorer.torch.*) | deterministic | noop',
    )
    .option('--policy <policy>', 'arbitration.policy: median | quantile | threshold')
    .option('--quantile <q>', 'arbitration.quantile (policy quantile): RL share 1-q')
    .option('--threshold <t>', 'arbitration.threshold (policy threshold)')
    .option('--metric <m>', 'arbitration.metric: gini | kurtosis | cv | l2')
    .option('--delivery <mode>', 'delivery.mode: exactly-once | at-least-once')
    .option('--http-port <n>', 'http.port (0 = any free port)')
    .option('--backend <b>', `scorer.backend: ${BACKEND_CHOICES.join(' | ')}`)
    .option('--set <key=value>', 'any config key, repeatable (e.g. --set batch.size=32)', collect, [])
    .option('--describe', 'print the topology this config runs and exit (no broker needed)')
    .option(
      '--print-config',
      'print the resolved configuration (defaults + file + env + flags) as YAML and exit',
    )
    .option('--no-dashboard', 'do not serve the live dashboard at /dashboard on the HTTP server')
    .action(async (flags: RunFlags) => {
      const { loadConfig } = await import('../../config/load.ts');
      const config = loadConfig({ file: flags.config, overrides: overridesFrom(flags) });
      if (flags.printConfig === true) {
        const { stringify: stringifyYaml } = await import('yaml');
        process.stdout.write(stringifyYaml(config));
        return;
      }
      if (flags.describe === true) {
        const { buildTopologyPreview } = await import('../../../streams/preview.ts');
        process.stdout.write(`${buildTopologyPreview(config)}\n`);
        return;
      }
      if (
        (config.scorer.kind === 'prism' || config.scorer.kind === 'torch') &&
        config.scorer.modelDir !== undefined
      )
        assertModelDir(config.scorer.modelDir, 'scorer.modelDir (--model)');
      await checkTopics(config);
      const [{ log }, { LiveCollector }, { startPipeline }, { installFatalHandler }] = await Promise.all([
        import('../../log.ts'),
        import('../../dashboard/index.ts'),
        import('../../../streams/app.ts'),
        import('../../lifecycle/fatal.ts'),
      ]);
      const runLog = log.child({ component: 'run' });
      let handle: PipelineHandle | undefined;
      // Last resort (issue 19): an uncaught exception is logged with its stack at fatal level, open
      // transactions are aborted, and the process exits non-zero; never a silent crash.
      installFatalHandler({
        log: runLog,
        processName: 'prism run',
        onFatal: (err) => handle?.fail(err),
        cleanupTimeoutMs: config.lifecycle.shutdownTimeoutMs,
      });
      let stopReason: string | undefined;
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals): void => {
        signals += 1;
        if (signals > 1) {
          runLog.warn({ signal }, 'second signal: exiting now (uncommitted work is re-read on restart)');
          process.exit(130);
        }
        runLog.info({ signal }, 'signal received');
        // Watchdog: a hung broker call must not keep the process past its budget.
        setTimeout(() => {
          runLog.error('shutdown exceeded lifecycle.shutdownTimeoutMs + 5 s; forcing exit');
          process.exit(1);
        }, config.lifecycle.shutdownTimeoutMs + 5000).unref();
        stopReason = `signal ${signal}`;
        // Promptly: abort the in-flight micro-batches (their transactions) instead of scoring on.
        void handle?.stop(stopReason, { abortInFlight: true });
      };
      // Registered before start-up, so a signal during start-up still stops cleanly.
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        const dashboard = flags.dashboard
          ? new LiveCollector({ metric: config.arbitration.metric, title: 'prism run: live routing' })
          : undefined;
        handle = await startPipeline(config, { log: runLog, dashboard });
        if (stopReason !== undefined) void handle.stop(stopReason, { abortInFlight: true });
        await handle.done;
        const summary = stopSummary(handle.stopReport());
        if (summary.outcome === 'clean') runLog.info(summary.fields, summary.message);
        else runLog.warn(summary.fields, summary.message);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        // kafkajs can leave idle sockets/timers behind; do not let them hold the exit (0, or the
        // error code main.ts sets from the thrown error).
        setTimeout(() => process.exit(), 500).unref();
      }
    });
}
