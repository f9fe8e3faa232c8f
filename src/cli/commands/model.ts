import { InvalidArgumentError, type Command } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../backend/choices.ts';
import { ConfigError, PrismError } from '../../errors.ts';
import { ARCHS, PRESETS, type Arch, type Preset } from '../../model/config.ts';
import type { Trajectory } from '../../schemas/types.ts';

// The model code (tfjs) and tokenizers are imported in the actions, on use, so `prism --help` and the
// other commands do not load them.

function oneOf<T extends string>(choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(choices as readonly string[]).includes(v))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return v as T;
  };
}

function parseSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new InvalidArgumentError('expected an integer in [0, 2^32)');
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

interface WarmStartFlags {
  from: string;
  steps: number;
  out: string;
  in?: string;
  dataSeed: number;
  batch: number;
  lr: number;
  maxSeqLen: number;
  maxChars: number;
  backend: BackendChoice;
  progress: boolean;
}

/** The first `n` valid records of a trajectory file (invalid ones are skipped and counted). */
async function readTrainingRecords(path: string, n: number): Promise<Trajectory[]> {
  const [{ readRecordFile }, { validateTrajectory }] = await Promise.all([
    import('../../io/files.ts'),
    import('../validate-records.ts'),
  ]);
  const out: Trajectory[] = [];
  let invalid = 0;
  for await (const r of readRecordFile(path, 'trajectory')) {
    if (out.length >= n) break;
    if (!r.ok) {
      invalid++;
      continue;
    }
    try {
      out.push(validateTrajectory(r.value));
    } catch (err) {
      if (!(err instanceof PrismError)) throw err;
      invalid++;
    }
  }
  if (out.length < n)
    throw new ConfigError(
      `--in ${path}: ${out.length} valid records (${invalid} invalid), but --steps × --batch needs ${n}`,
    );
  return out;
}

/** Progress on stderr: a bar on a terminal, else one line per tenth of the steps (logs, CI, scripts). */
async function stepReporter(
  total: number,
  tty: boolean,
): Promise<{ step: (step: number, loss: number) => void; stop: () => void }> {
  if (tty) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      { format: 'warm-start [{bar}] {value}/{total} steps | loss {loss}', stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { loss: '-' });
    return { step: (s, loss) => bar.update(s, { loss: loss.toFixed(3) }), stop: () => bar.stop() };
  }
  const every = Math.max(1, Math.round(total / 10));
  return {
    step: (s, loss) => {
      if (s % every === 0 || s === total)
        process.stderr.write(`warm-start step ${s}/${total} loss ${loss.toFixed(4)}\n`);
    },
    stop: () => undefined,
  };
}

async function runWarmStart(f: WarmStartFlags): Promise<void> {
  if (f.out.trim() === '') throw new ConfigError('--out must name a folder');
  if (f.maxSeqLen < 2) throw new ConfigError('--max-seq-len must be at least 2');
  const [{ selectBackend }, { loadModel, saveModel }, { loadTokenizer }, ws, { log }] = await Promise.all([
    import('../../backend/select.ts'),
    import('../../model-store/llama.ts'),
    import('../../tokenizer/index.ts'),
    import('../../demo/warm-start.ts'),
    import('../../log.ts'),
  ]);
  const { existsSync } = await import('node:fs');
  if (!existsSync(f.from)) throw new ConfigError(`--from ${f.from}: the folder does not exist`);
  const n = f.steps * f.batch;
  const records =
    f.in !== undefined
      ? await readTrainingRecords(f.in, n)
      : ws.warmStartRecords({ ...f, microBatchSize: f.batch, groupSize: 4 });
  const backend = await selectBackend(f.backend, { logger: log });
  const model = await loadModel(f.from);
  try {
    const tokenizer = await loadTokenizer(f.from, model.config);
    const progress = await stepReporter(f.steps, f.progress && process.stderr.isTTY);
    const training = {
      steps: f.steps,
      microBatchSize: f.batch,
      maxSeqLen: f.maxSeqLen,
      lr: f.lr,
      warmupSteps: Math.min(10, Math.max(1, Math.floor(f.steps / 4))),
      minLrRatio: 0.1,
      weightDecay: 0.01,
      maxGradNorm: 1,
    };
    let trained;
    try {
      trained = await ws.trainWarmStart(model, tokenizer, records, training, {
        log,
        onStep: progress.step,
      });
    } finally {
      progress.stop();
    }
    await saveModel(model, f.out);
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const summary = {
      out: f.out,
      from: f.from,
      data: f.in ?? `prism gen base families, seed ${f.dataSeed}, max ${f.maxChars} chars`,
      backend: backend.kind,
      requestedSteps: f.steps,
      ...training,
      ...trained,
    };
    await writeFile(join(f.out, 'prism-warm-start.json'), `${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    model.dispose();
  }
}

export function register(program: Command): void {
  const model = program
    .command('model')
    .description('create and inspect probe models (Hugging Face folders)');

  model
    .command('init')
    .description(
      'write a random-initialized model folder (config.json + fp32 model.safetensors, byte tokenizer)',
    )
    .requiredOption('--preset <name>', `size: ${PRESETS.join(' | ')}`, oneOf(PRESETS))
    .option('--arch <name>', `variant: ${ARCHS.join(' | ')}`, oneOf(ARCHS), 'llama')
    .option('--seed <n>', 'random seed (same seed → same weights)', parseSeed, 0)
    .requiredOption('--out <dir>', 'output folder (created; existing model files are replaced)')
    .action(async (opts: { preset: Preset; arch: Arch; seed: number; out: string }) => {
      if (opts.out.trim() === '') throw new ConfigError('--out must name a folder');
      const [{ initModel }, { saveModel }] = await Promise.all([
        import('../../model/llama.ts'),
        import('../../model-store/llama.ts'),
      ]);
      const m = initModel({ preset: opts.preset, arch: opts.arch, seed: opts.seed });
      try {
        await saveModel(m, opts.out);
        process.stdout.write(
          `${JSON.stringify({ out: opts.out, preset: opts.preset, arch: opts.arch, seed: opts.seed, parameters: m.parameterCount() })}\n`,
        );
      } finally {
        m.dispose();
      }
    });

  model
    .command('info')
    .description('print a model folder’s normalized config, parameter count and tokenizer as JSON')
    .argument('<dir>', 'model folder')
    .option('--check', 'also load the weights (verifies every tensor name, shape and dtype)')
    .action(async (dir: string, opts: { check?: boolean }) => {
      const [{ readModelConfig }, { loadTokenizer }, { countParameters }] = await Promise.all([
        import('../../model-store/folder.ts'),
        import('../../tokenizer/index.ts'),
        import('../../model/weights.ts'),
      ]);
      const config = await readModelConfig(dir);
      const tokenizer = await loadTokenizer(dir, config);
      if (opts.check === true) {
        const { loadModel } = await import('../../model-store/llama.ts');
        (await loadModel(dir)).dispose();
      }
      const { raw: _raw, ...normalized } = config;
      process.stdout.write(
        `${JSON.stringify({
          dir,
          parameters: countParameters(config),
          tokenizer: tokenizer === null ? null : { kind: tokenizer.kind, vocabSize: tokenizer.vocabSize },
          weightsChecked: opts.check === true,
          config: normalized,
        })}\n`,
      );
    });

  model
    .command('warm-start')
    .description(
      'give a probe existing knowledge: SFT steps on base-family records (as the demo does), saved as a new model folder',
    )
    .requiredOption('--from <dir>', 'starting model folder (e.g. from `prism model init`)')
    .requiredOption('--steps <n>', 'optimizer steps (one fresh micro-batch each, a single pass)', positiveInt)
    .requiredOption('--out <dir>', 'output model folder (created; existing model files are replaced)')
    .option('--in <file>', 'train on these trajectories (.jsonl/.avro) instead of generated base-family ones')
    .option('--data-seed <n>', '`prism gen` seed of the generated training records', parseSeed, 1001)
    .option('--batch <n>', 'trajectories per step', positiveInt, 8)
    .option('--lr <x>', 'peak learning rate (AdamW, linear warm-up, cosine decay)', positiveNumber, 3e-3)
    .option('--max-seq-len <t>', 'tokens per trajectory (the first ones are kept)', positiveInt, 512)
    .option('--max-chars <n>', 'content characters per generated trajectory', positiveInt, 1024)
    .option('--backend <b>', `tfjs backend: ${BACKEND_CHOICES.join(' | ')}`, oneOf(BACKEND_CHOICES), 'auto')
    .option('--no-progress', 'no progress bar (a line per tenth of the steps is printed when not a terminal)')
    .action(runWarmStart);
}
