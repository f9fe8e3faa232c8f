import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../../errors.ts';
import { PRESETS, type ModelConfig, type Preset } from '../../../model/config.ts';
import type { Trajectory } from '../../../schemas/types.ts';
import type { TurnTokenizer } from '../../../tokenizer/types.ts';
import { memoryCapMB, positiveInt } from './common.ts';

interface PaddingFlags {
  dist?: string;
  in?: string;
  gen?: number;
  n: number;
  seed: number;
  batch: number;
  microBatch: number;
  maxSeqLen: number;
  maxBatchMemoryMb: number | 'auto' | 'none';
  maxBatchTokens: number | 'none';
  preset: Preset;
  model?: string;
  json?: boolean;
}

function capOrNone(v: string): number | 'none' {
  if (v === 'none') return 'none';
  return positiveInt(v);
}

function memoryCapOrNone(v: string): number | 'auto' | 'none' {
  return v === 'none' ? 'none' : memoryCapMB(v);
}

interface Source {
  /** Arrival-ordered lengths. */
  lengths: number[];
  /** What they came from, for the header line. */
  label: string;
  rejected: Record<string, number>;
}

/** The model shape (memory estimate, FLOP terms) and, for --in with --model, its tokenizer. */
async function modelShape(
  flags: PaddingFlags,
): Promise<{ config: ModelConfig; tokenizer: TurnTokenizer | null }> {
  if (flags.model === undefined) {
    const [{ presetConfig }, { ByteTokenizer }] = await Promise.all([
      import('../../../model/config.ts'),
      import('../../../tokenizer/byte.ts'),
    ]);
    return { config: presetConfig(flags.preset, 'llama', 264), tokenizer: new ByteTokenizer() };
  }
  const [{ readModelConfig }, { loadTokenizer }] = await Promise.all([
    import('../../../model-store/index.ts'),
    import('../../../tokenizer/index.ts'),
  ]);
  const config = await readModelConfig(flags.model);
  // Only --in needs the folder's tokenizer (--gen records are tokenized the same way; --dist needs none).
  const tokenizer = flags.dist === undefined ? await loadTokenizer(flags.model, config) : null;
  return { config, tokenizer };
}

async function readTrajectories(path: string, rejected: Record<string, number>): Promise<Trajectory[]> {
  const { readRecordFile } = await import('../../../io/files.ts');
  const out: Trajectory[] = [];
  for await (const r of readRecordFile(path, 'trajectory')) {
    if (r.ok) out.push(r.value);
    else rejected[r.error.code] = (rejected[r.error.code] ?? 0) + 1;
  }
  return out;
}

async function lengthsOf(
  flags: PaddingFlags,
  config: ModelConfig,
  tokenizer: TurnTokenizer | null,
): Promise<Source> {
  const { parseDistribution, recordLengths, syntheticLengths } =
    await import('../../../bench/padding-lengths.ts');
  if (flags.dist !== undefined) {
    const lengths = syntheticLengths(parseDistribution(flags.dist), flags.n, flags.seed, flags.maxSeqLen);
    return { lengths, label: `${flags.dist}, n ${flags.n}, seed ${flags.seed}`, rejected: {} };
  }
  const rejected: Record<string, number> = {};
  let trajectories: Iterable<Trajectory>;
  let label: string;
  if (flags.in !== undefined) {
    trajectories = await readTrajectories(flags.in, rejected);
    label = flags.in;
  } else {
    const { generate } = await import('../../../gen/generate.ts');
    trajectories = generate({ n: flags.gen ?? 0, seed: flags.seed });
    label = `prism gen --n ${flags.gen} --seed ${flags.seed}`;
  }
  const r = recordLengths(trajectories, {
    tokenizer,
    vocabSize: config.vocab_size,
    maxSeqLen: flags.maxSeqLen,
  });
  for (const [code, n] of Object.entries(r.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
  return { lengths: r.lengths, label, rejected };
}

async function runPadding(flags: PaddingFlags): Promise<void> {
  const given = [flags.dist, flags.in, flags.gen].filter((x) => x !== undefined).length;
  if (given !== 1) throw new ConfigError('give exactly one of --dist SPEC, --in FILE or --gen N');
  const [{ intoMicroBatches, paddingReport, paddingTable }, { flopTerms }, { modelWeightBytes }, { maxBatchBytesOf }] =
    await Promise.all([
      import('../../../bench/padding.ts'),
      import('../../../scorer/flops.ts'),
      import('../../../scorer/memory.ts'),
      import('../../../config/scorer.ts'),
    ]);
  const { config, tokenizer } = await modelShape(flags);
  const src = await lengthsOf(flags, config, tokenizer);
  const limits = {
    batchSize: flags.batch,
    maxSeqLen: flags.maxSeqLen,
    maxBatchBytes: flags.maxBatchMemoryMb === 'none' ? undefined : maxBatchBytesOf(flags.maxBatchMemoryMb),
    weightBytes: modelWeightBytes(config),
    maxBatchTokens: flags.maxBatchTokens === 'none' ? undefined : flags.maxBatchTokens,
    model: config,
  };
  const report = paddingReport(intoMicroBatches(src.lengths, flags.microBatch), limits, flopTerms(config));
  const settings = {
    source: src.label,
    rejected: src.rejected,
    model: flags.model ?? `preset ${flags.preset}`,
    batch: flags.batch,
    microBatch: flags.microBatch,
    maxSeqLen: flags.maxSeqLen,
    maxBatchMemoryMB: flags.maxBatchMemoryMb,
    maxBatchTokens: flags.maxBatchTokens,
  };
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify({ modelled: true, settings, ...report })}\n`);
    return;
  }
  const rejected = Object.entries(src.rejected).map(([c, n]) => `${c} ${n}`);
  process.stdout.write(
    `${[
      `lengths: ${src.label}${rejected.length > 0 ? ` (not scorable: ${rejected.join(', ')})` : ''}; ` +
        `shape: ${settings.model}; batch ${flags.batch}, micro-batches of ${flags.microBatch}, ` +
        `max-seq-len ${flags.maxSeqLen}, max-batch-memory-mb ${flags.maxBatchMemoryMb}, max-batch-tokens ${flags.maxBatchTokens}`,
      paddingTable(report),
    ].join('\n')}\n`,
  );
}

export function registerPadding(bench: Command): void {
  bench
    .command('padding')
    .description(
      'MODELLED padding cost (token slots and FLOPs from the model shape, not timings) of the scorer bucketing: arrival order vs sorted by length (what the scorer does) vs ideal packing',
    )
    .option('--dist <spec>', 'synthetic lengths: uniform:MIN-MAX or lognormal:MEDIAN:SIGMA')
    .option('--in <file>', 'trajectories (.jsonl/.avro), tokenized as the scorer does')
    .option('--gen <n>', 'prism gen trajectories (with --seed), tokenized as the scorer does', positiveInt)
    .option('--n <n>', 'sequences drawn with --dist', positiveInt, 1024)
    .option('--seed <s>', 'seed of --dist / --gen', (v: string) => Number.parseInt(v, 10), 1)
    .option('--batch <b>', 'scorer.batchSize (rows per pass)', positiveInt, 16)
    .option('--micro-batch <m>', 'records per scoreBatch call (the pipeline micro-batch)', positiveInt, 64)
    .option('--max-seq-len <t>', 'scorer.maxSeqLen (longer sequences are truncated)', positiveInt, 8192)
    .option('--max-batch-memory-mb <mb>', 'scorer.maxBatchMemoryMB: auto, MiB or none', memoryCapOrNone, 'auto' as const)
    .option('--max-batch-tokens <n>', 'scorer.maxBatchTokens, or none', capOrNone, 16_384)
    .option(
      '--preset <name>',
      `model shape for the memory estimate and FLOP terms: ${PRESETS.join(' | ')}`,
      (v: string) => {
        if (!(PRESETS as readonly string[]).includes(v))
          throw new InvalidArgumentError(`use ${PRESETS.join(', ')}`);
        return v as Preset;
      },
      'small',
    )
    .option('--model <dir>', 'model folder instead of --preset (config.json; its tokenizer for --in)')
    .option('--json', 'print the report as JSON')
    .action(runPadding);
}
