import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../errors.ts';
import { ARCHS, PRESETS, type Arch, type Preset } from '../../model/config.ts';

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
      const { initModel, saveModel } = await import('../../model/llama.ts');
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
        import('../../model/io.ts'),
        import('../../tokenizer/index.ts'),
        import('../../model/weights.ts'),
      ]);
      const config = await readModelConfig(dir);
      const tokenizer = await loadTokenizer(dir, config);
      if (opts.check === true) {
        const { loadModel } = await import('../../model/llama.ts');
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
}
