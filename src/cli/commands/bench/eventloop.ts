import { InvalidArgumentError, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKEND_CHOICES, type BackendChoice } from '../../../backend/choices.ts';
import { ConfigError } from '../../../errors.ts';
import { PRESETS, type Preset } from '../../../model/config.ts';
import { positiveInt } from './common.ts';

interface EventLoopFlags {
  model?: string;
  preset?: Preset;
  batch: number;
  seq: number;
  batches: number;
  threads: Array<'worker' | 'main'>;
  backend: BackendChoice;
  json?: boolean;
}

function threadList(v: string): Array<'worker' | 'main'> {
  return v.split(',').map((s) => {
    const t = s.trim();
    if (t !== 'worker' && t !== 'main') throw new InvalidArgumentError('use worker, main or worker,main');
    return t;
  });
}

export function registerEventLoop(bench: Command): void {
  bench
    .command('eventloop')
    .description(
      'main-thread event-loop delay (p50/p99/max) and /readyz answers while the scorer works, with the scorer in a worker thread vs on the main thread',
    )
    .option('--model <dir>', 'probe model folder')
    .option('--preset <name>', `random built-in model instead: ${PRESETS.join(' | ')}`, (v: string) => {
      if (!(PRESETS as readonly string[]).includes(v))
        throw new InvalidArgumentError(`use ${PRESETS.join(', ')}`);
      return v as Preset;
    })
    .option('--batch <n>', 'trajectories per micro-batch', positiveInt, 16)
    .option('--seq <t>', 'scored positions per trajectory', positiveInt, 128)
    .option('--batches <n>', 'micro-batches scored while measuring', positiveInt, 4)
    .option('--threads <list>', 'scorer placements to measure: worker, main', threadList, ['worker', 'main'])
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_CHOICES.join(' | ')}`,
      (v: string) => {
        if (!(BACKEND_CHOICES as readonly string[]).includes(v))
          throw new InvalidArgumentError(`use ${BACKEND_CHOICES.join(', ')}`);
        return v as BackendChoice;
      },
      'auto',
    )
    .option('--json', 'print the rows as JSON')
    .action(async (flags: EventLoopFlags) => {
      if ((flags.model === undefined) === (flags.preset === undefined))
        throw new ConfigError('give exactly one of --model DIR or --preset NAME');
      const [{ runEventLoopBench, eventLoopTable }, { log }] = await Promise.all([
        import('../../../bench/event-loop.ts'),
        import('../../../log.ts'),
      ]);
      const vocab =
        flags.model !== undefined
          ? (JSON.parse(await readFile(join(flags.model, 'config.json'), 'utf8')) as { vocab_size: number })
              .vocab_size
          : 264;
      const rows = await runEventLoopBench(
        {
          config: {
            modelDir: flags.model,
            backend: flags.backend,
            path: 'auto',
            batchSize: flags.batch,
            maxSeqLen: flags.seq + 1,
          },
          preset: flags.preset === undefined ? undefined : { preset: flags.preset, arch: 'llama', seed: 0 },
          batch: flags.batch,
          seq: flags.seq,
          batches: flags.batches,
          modes: flags.threads,
          logger: log,
        },
        vocab,
      );
      process.stdout.write(flags.json === true ? `${JSON.stringify(rows)}\n` : `${eventLoopTable(rows)}\n`);
    });
}
