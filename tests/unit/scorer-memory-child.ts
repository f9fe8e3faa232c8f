// Child process of scorer-memory.test.ts: scores one batch in a fresh process (so the peak RSS is
// this batch's alone) and prints {baseRss, peakRss, estimate, ok} as JSON. Args: preset B T backend.
import { pino } from 'pino';
import { selectBackend } from '../../src/backend/index.ts';
import { syntheticTrajectories } from '../../src/scorer-host/bench.ts';
import { batchActivationBytes } from '../../src/scorer/memory.ts';
import { openProbeModel } from '../../src/scorer-host/open.ts';
import { PrismScorer } from '../../src/scorer/prism-scorer.ts';

const [preset, B, T, backend] = [
  process.argv[2],
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5],
];
const quiet = pino({ level: 'silent' });
await selectBackend(backend as 'tensorflow', { logger: quiet });
const probe = await openProbeModel({ preset: { preset: preset as 'tiny', arch: 'llama', seed: 0 } });
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
const baseRss = process.memoryUsage().rss;
const out = await scorer.scoreBatch(trajs);
const peakRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ baseRss, peakRss, estimate, ok: out.every((o) => o.ok) })}\n`);
