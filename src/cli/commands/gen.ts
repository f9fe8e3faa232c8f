import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { ConfigError } from '../../errors.ts';
import { DEFAULT_GROUP_SIZE, DEFAULT_MAX_CHARS } from '../../gen/generate.ts';

function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function parseShare(value: string): number {
  const x = Number(value);
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new InvalidArgumentError('expected a number in [0, 1]');
  return x;
}

function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

interface GenFlags {
  n: number;
  seed: number;
  out?: string;
  families?: string[];
  conflictShare: number;
  maxChars: number;
  groupSize: number;
  listFamilies?: boolean;
}

async function listFamilies(): Promise<void> {
  const { ALL_FAMILIES } = await import('../../gen/families.ts');
  for (const f of ALL_FAMILIES) {
    const what = f.conflict
      ? `conflict(${f.conflict.kind}) vs ${f.conflict.base}: ${f.conflict.doc}`
      : 'base';
    process.stdout.write(`${f.name.padEnd(16)} ${f.env.padEnd(9)} ${what}\n`);
  }
}

export function register(program: Command): void {
  program
    .command('gen')
    .description('generate synthetic ALFWorld-/WebShop-like agent trajectories (deterministic for a seed)')
    .option('--n <n>', 'number of trajectories', parseInteger, 100)
    .option('--seed <s>', 'random seed (same seed and flags = same file)', parseInteger, 1)
    .option('--out <file>', 'output file: .jsonl or .avro (by extension), - for JSONL on stdout')
    .option(
      '--families <list>',
      'comma-separated families (default: every base family); see --list-families',
      parseList,
    )
    .option(
      '--conflict-share <x>',
      'share of tasks drawn from the conflict families, in [0, 1]',
      parseShare,
      0,
    )
    .option(
      '--max-chars <n>',
      'byte budget of one trajectory (turn contents)',
      parseInteger,
      DEFAULT_MAX_CHARS,
    )
    .option('--group-size <n>', 'rollouts per task_id (one GRPO group)', parseInteger, DEFAULT_GROUP_SIZE)
    .option('--list-families', 'print the families and what each conflict family changes, then exit')
    .action(async (flags: GenFlags) => {
      if (flags.listFamilies === true) {
        await listFamilies();
        return;
      }
      if (flags.out === undefined)
        throw new ConfigError('gen: --out <file> is required (.jsonl, .avro or -)');
      // Loaded on use, so `prism --help` and the other commands do not pay for avsc and pino.
      const [{ generate }, { createRecordFileWriter }, { log }] = await Promise.all([
        import('../../gen/generate.ts'),
        import('../../io/files.ts'),
        import('../../log.ts'),
      ]);
      const records = generate({
        n: flags.n,
        seed: flags.seed,
        families: flags.families,
        conflictShare: flags.conflictShare,
        maxChars: flags.maxChars,
        groupSize: flags.groupSize,
      });
      const writer = createRecordFileWriter(flags.out, 'trajectory');
      const bar =
        flags.out !== '-' && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              {
                format: 'gen [{bar}] {value}/{total} trajectories',
                stream: process.stderr,
                hideCursor: true,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      bar?.start(flags.n, 0);
      let written = 0;
      let conflicts = 0;
      try {
        for (const t of records) {
          await writer.write(t);
          written++;
          if (t.metadata.conflict === 'true') conflicts++;
          if (written % 100 === 0) bar?.update(written);
        }
      } finally {
        bar?.update(written);
        bar?.stop();
        await writer.close();
      }
      log.info({ out: flags.out, trajectories: written, conflict: conflicts, seed: flags.seed }, 'gen: done');
    });
}
