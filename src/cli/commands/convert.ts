import { Option, type Command } from 'commander';
import { statSync } from 'node:fs';
import { SCHEMA_KINDS, type SchemaKind } from '../../schemas/kinds.ts';
import type { Trajectory } from '../../schemas/types.ts';
import { ConfigError } from '../../errors.ts';

function fileSize(path: string): number {
  try {
    return path === '-' ? 0 : statSync(path).size;
  } catch {
    return 0;
  }
}

export function register(program: Command): void {
  program
    .command('convert')
    .description(
      'convert record files between JSONL and Avro object container (format chosen by extension: .jsonl, .avro)',
    )
    .requiredOption('--in <file>', 'input file (.jsonl or .avro; - = JSONL on stdin)')
    .requiredOption('--out <file>', 'output file (.jsonl or .avro; - = JSONL on stdout)')
    .addOption(
      new Option('--schema <kind>', 'record schema').choices([...SCHEMA_KINDS]).default('trajectory'),
    )
    .addOption(
      new Option('--codec <codec>', 'Avro block compression').choices(['deflate', 'null']).default('deflate'),
    )
    .option('--validate', 'also apply the trajectory rules (input.limits); failing records are skipped')
    .option('--config <file>', 'YAML config file for input.limits (default: PRISM_CONFIG)')
    .action(
      async (opts: {
        in: string;
        out: string;
        schema: SchemaKind;
        codec: 'deflate' | 'null';
        validate?: boolean;
        config?: string;
      }) => {
        // Loaded on use, so `prism --help` and the other commands do not pay for avsc and zod.
        const [
          { loadInputConfig },
          { validateTrajectory },
          { createRecordFileWriter, fileFormatOf, readRecordFile },
          { progressBar },
          { reportInvalid },
        ] = await Promise.all([
          import('../input-config.ts'),
          import('../../schemas/validate.ts'),
          import('../../io/files.ts'),
          import('../../io/progress.ts'),
          import('../../io/report.ts'),
        ]);
        const { limits } = loadInputConfig({ config: opts.config });
        fileFormatOf(opts.in);
        fileFormatOf(opts.out);
        if (opts.in === opts.out && opts.in !== '-')
          throw new ConfigError('--in and --out must be different files');
        if (opts.validate === true && opts.schema !== 'trajectory')
          throw new ConfigError('--validate applies to --schema trajectory only');
        const bar = progressBar('convert', fileSize(opts.in), 'MB');
        const writer = createRecordFileWriter(opts.out, opts.schema, { codec: opts.codec });
        let read = 0;
        let written = 0;
        const invalid = reportInvalid(opts.in);
        try {
          for await (const r of readRecordFile(opts.in, opts.schema, {
            maxBytes: limits.maxBytes,
            onBytes: (n) => bar.update((read += n), written),
          })) {
            if (!r.ok) {
              invalid.add(r.position, r.error);
              continue;
            }
            if (opts.validate === true) {
              try {
                validateTrajectory(r.value as Trajectory, limits);
              } catch (err) {
                invalid.add(r.position, err);
                continue;
              }
            }
            await writer.write(r.value);
            written++;
          }
        } finally {
          bar.stop();
          await writer.close();
        }
        const out = opts.out === '-' ? process.stderr : process.stdout;
        out.write(
          `converted ${written} ${opts.schema} records ${opts.in} → ${opts.out}${invalid.summary()}\n`,
        );
        if (invalid.count > 0) process.exitCode = 1;
      },
    );
}
