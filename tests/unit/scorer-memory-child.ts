// Child process of scorer-memory.test.ts: scores one batch in a fresh process (so the peak RSS is
// this batch's alone) and prints {baseRss, peakRss, estimate, ok} as JSON. Args: preset B T backend [vocab]
// (with a vocab: a random model of the preset's shape and that vocabulary, e.g. Qwen's 151,936). In place of
// the preset, a model folder (a path) is loaded as `prism score` loads it (BENCHMARKS §8's 0.5 B rows).
import { pino } from 'pino';
import { selectBackend } from '../../src/backend/index.ts';
import { syntheticTrajectories } from '../../src/scorer-host/bench.ts';
import { batchActivationBytes } from '../../src/scorer/memory.ts';
import { openProbeModel } from '../../src/scorer-host/open.ts';
import { PrismScorer } from '../../src/scorer/prism-scorer.ts';
import { presetConfig, type ModelConfig } from '../../src/model/config.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import { randomWeights } from '../../src/model/init.ts';
import { collectGarbage } from '../../src/model-store/collect-garbage.ts';

function wideVocabModel(config: ModelConfig): LlamaModel {
  return new LlamaModel(config, randomWeights(config, 0));
}

const [preset, B, T, backend, vocab] = [
  process.argv[2],
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5],
  process.argv[6],
];
const quiet = pino({ level: 'silent' });
await selectBackend(backend as 'tensorflow', { logger: quiet });
const probe = preset.includes('/')
  ? await openProbeModel({ modelDir: preset })
  : vocab === undefined
    ? await openProbeModel({ preset: { preset: preset as 'tiny', arch: 'llama', seed: 0 } })
    : { model: wideVocabModel(presetConfig(preset as 'tiny', 'llama', Number(vocab))) };
// A trajectory of T scored positions has T + 1 tokens, and the bucketing charges a pass by its tokens.
const estimate = batchActivationBytes(probe.model.config, B, T + 1);
const scorer = new PrismScorer({
  model: probe.model,
  tokenizer: null,
  probeModelId: 'memory-test',
  probeModelVersion: 'v0',
  backend,
  maxSeqLen: T + 1,
  batchSize: B,
  // The cap admits exactly this batch: one micro-batch of B.
  maxBatchBytes: estimate,
  emitNorms: false,
  path: 'batched',
  logger: quiet,
});
const trajs = syntheticTrajectories(B, T, probe.model.config.vocab_size);
// The random weights' JS arrays are garbage by now; collect them so they are not freed inside the measurement.
// V8 frees ArrayBuffer memory on a background thread after the collection; let it finish.
for (let i = 0; i < 2; i++) {
  collectGarbage();
  await new Promise((r) => setTimeout(r, 250));
}
const baseRss = process.memoryUsage().rss;
const out = await scorer.scoreBatch(trajs);
const peakRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ baseRss, peakRss, estimate, ok: out.every((o) => o.ok) })}\n`);
