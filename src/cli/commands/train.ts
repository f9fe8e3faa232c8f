import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/choices.ts';
import type { ConfigOverride } from '../../config/load.ts';
import type { TrainerKind } from '../../trainer/types.ts';
import { assertModelDir } from '../model-dir.ts';
import { ensureBrokerReachable } from '../preflight.ts';

interface TrainFlags {
  config?: string;
  brokers?: string;
  initModel?: string;
  idLog?: string;
  metricsPort?: number;
  backend?: BackendChoice;
  progress: boolean;
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number (0 = any free port)');
  return n;
}

function backendChoice(v: string): BackendChoice {
  if (!(BACKEND_CHOICES as readonly string[]).includes(v))
    throw new InvalidArgumentError(`expected one of ${BACKEND_CHOICES.join(', ')}`);
  return v as BackendChoice;
}

async function train(kind: TrainerKind, flags: TrainFlags): Promise<void> {
  // Loaded on use, so `prism --help` and the other commands do not pay for tfjs, kafkajs and zod.
  const [{ loadConfig }, { log }, { startTrainer }, { installFatalHandler }] = await Promise.all([
    import('../../config/load.ts'),
    import('../../log.ts'),
    import('../../trainer/run.ts'),
    import('../../lifecycle/fatal.ts'),
  ]);
  // Last resort (issue 19): fatal log with the stack, exit non-zero. No final checkpoint from a
  // broken state: the checkpoint lineage already on disk decides where the restart resumes.
  installFatalHandler({ log, processName: `prism train ${kind}` });
  const overrides: ConfigOverride[] = [];
  if (flags.brokers !== undefined)
    overrides.push({ path: 'kafka.brokers', value: flags.brokers, source: '--brokers' });
  if (flags.initModel !== undefined)
    overrides.push({ path: `trainer.${kind}.initModelDir`, value: flags.initModel, source: '--init-model' });
  if (flags.idLog !== undefined)
    overrides.push({ path: `trainer.${kind}.idLog`, value: flags.idLog, source: '--id-log' });
  if (flags.metricsPort !== undefined)
    overrides.push({
      path: `trainer.${kind}.metrics.port`,
      value: flags.metricsPort,
      source: '--metrics-port',
    });
  if (flags.backend !== undefined)
    overrides.push({ path: 'trainer.backend', value: flags.backend, source: '--backend' });
  const config = loadConfig({ file: flags.config, overrides });
  const initModelDir = config.trainer[kind].initModelDir;
  if (initModelDir !== undefined) assertModelDir(initModelDir, `trainer.${kind}.initModelDir`);
  await ensureBrokerReachable(config.kafka.brokers, `train ${kind}`, config.kafka);
  const handle = await startTrainer(kind, config, { log });

  const bar =
    flags.progress && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format: `train ${kind} | step {step} | loss {loss} | {records} records | {pending} pending`,
            stream: process.stderr,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  let records = 0;
  bar?.start(1, 0, { step: handle.loop.step, loss: '-', records, pending: 0 });
  handle.loop.onStep((s) => {
    records += s.records;
    bar?.update(0, { step: s.step, loss: s.loss.toFixed(4), records, pending: handle.loop.pending });
  });

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting without a final checkpoint');
      process.exit(130);
    }
    log.info({ signal: sig }, 'stopping: final checkpoint, commit, disconnect');
    void handle.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await handle.done;
  } finally {
    bar?.stop();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // kafkajs reconnect timers (a lost broker) must not hold the exit; main.ts sets the code.
    setTimeout(() => process.exit(), 500).unref();
  }
}

export function register(program: Command): void {
  const group = program
    .command('train')
    .description(
      'continuous trainers: consume prism.sft / prism.rl, train the model, checkpoint, publish ModelUpdates',
    );
  for (const kind of ['sft', 'rl'] as const) {
    group
      .command(kind)
      .description(
        kind === 'sft'
          ? 'SFT on topics.sft: mean next-token loss over assistant tokens (the scorer’s mask)'
          : 'RL on topics.rl: group-relative advantages (GRPO), PPO-clip with behaviour logprobs, optional KL to a reference',
      )
      .option('--config <file>', 'YAML config (also PRISM_CONFIG); trainer.* keys, see README')
      .option('--brokers <list>', 'Kafka brokers host:port[,...] (kafka.brokers)')
      .option(
        '--init-model <dir>',
        `starting model folder when no checkpoint exists (trainer.${kind}.initModelDir)`,
      )
      .option('--id-log <file>', `JSONL log of trained record ids (trainer.${kind}.idLog)`)
      .option('--metrics-port <n>', `/metrics port, 0 = any free port (trainer.${kind}.metrics.port)`, port)
      .option(
        '--backend <b>',
        `tfjs backend: ${BACKEND_CHOICES.join(' | ')} (trainer.backend)`,
        backendChoice,
      )
      .option('--no-progress', 'no status line on stderr')
      .action(async (flags: TrainFlags) => {
        await train(kind, flags);
      });
  }
}
