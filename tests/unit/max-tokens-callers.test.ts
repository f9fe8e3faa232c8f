import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initModel, type LlamaModel } from '../../src/model/index.ts';
import { PrismScorer, type ScoreOutcome } from '../../src/scorer/index.ts';
import { WorkerScorer } from '../../src/scorer-host/worker/worker-scorer.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';
import { buildFor } from '../../src/trainer/engines/common.ts';
import type { InputRecord } from '../../src/trainer/types.ts';
import { textTrajectory } from './scorer-fixtures.ts';

/** input.limits.maxTokens as every sequence builder gets it: text-only turns count once tokenized. */
const quiet = pino({ level: 'silent' });
const MAX_TOKENS = 100;
const long = textTrajectory('long', 'hi', 'x'.repeat(3 * MAX_TOKENS));
const short = textTrajectory('short', 'hi', 'ok');

function codeOf(o: ScoreOutcome | undefined): string {
  if (o === undefined) return 'missing';
  return o.ok ? 'ok' : o.error.code;
}

describe('input.limits.maxTokens reaches the sequence builders', () => {
  let model: LlamaModel;
  beforeAll(async () => {
    await tf.setBackend('wasm');
    model = initModel({ preset: 'tiny', arch: 'llama', seed: 1 });
  });
  afterAll(() => model.dispose());

  it('PrismScorer: a text-only trajectory over the limit is a TOO_MANY_TOKENS outcome, the rest score', async () => {
    const scorer = new PrismScorer({
      model,
      tokenizer: new ByteTokenizer(),
      probeModelId: 'tiny-test',
      probeModelVersion: 'v0',
      backend: tf.getBackend(),
      maxSeqLen: 64,
      maxTokens: MAX_TOKENS,
      batchSize: 4,
      emitNorms: false,
      path: 'batched',
      ownsModel: false,
      logger: quiet,
    });
    const outcomes = await scorer.scoreBatch([short, long]);
    expect(outcomes.map(codeOf)).toEqual(['ok', 'TOO_MANY_TOKENS']);
  });

  it('WorkerScorer: the limit crosses to the worker thread', async () => {
    const scorer = await WorkerScorer.open(
      {
        config: { backend: 'cpu', path: 'batched', maxSeqLen: 64 },
        preset: { preset: 'tiny', arch: 'llama', seed: 3 },
        maxTokens: MAX_TOKENS,
      },
      { logger: quiet },
    );
    try {
      const outcomes = await scorer.scoreBatch([long, short]);
      expect(outcomes.map(codeOf)).toEqual(['TOO_MANY_TOKENS', 'ok']);
    } finally {
      scorer.dispose();
    }
  });

  it('trainers (buildFor): over the limit is a TOO_MANY_TOKENS rejection, under builds', () => {
    const record = (t: typeof long) => ({ value: { trajectory: t } }) as unknown as InputRecord;
    const s = { tokenizer: new ByteTokenizer(), vocabSize: 300, maxSeqLen: 64, maxTokens: MAX_TOKENS };
    const over = buildFor(record(long), s);
    expect(over.ok ? 'ok' : over.error.code).toBe('TOO_MANY_TOKENS');
    const under = buildFor(record(short), s);
    expect(under.ok).toBe(true);
  });
});
