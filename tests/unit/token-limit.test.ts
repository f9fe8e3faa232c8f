import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { initModel } from '../../src/model/index.ts';
import { PrismScorer } from '../../src/scorer/index.ts';
import { tokenLimit } from '../../src/sequence/index.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';

describe('tokenLimit: scorer.maxSeqLen counts tokens, the model limit counts positions', () => {
  it('allows max_position_embeddings + 1 tokens (the last token is only a target)', () => {
    expect(tokenLimit(4096, 2048)).toBe(2049);
    expect(tokenLimit(2049, 2048)).toBe(2049);
    expect(tokenLimit(1024, 2048)).toBe(1024);
    expect(tokenLimit(1024, Number.POSITIVE_INFINITY)).toBe(1024);
  });

  describe('PrismScorer', () => {
    const model = initModel({ preset: 'tiny', arch: 'llama', seed: 1 });
    afterAll(() => model.dispose());
    const scorer = (maxSeqLen: number): PrismScorer =>
      new PrismScorer({
        model,
        tokenizer: new ByteTokenizer(),
        probeModelId: 'tiny-test',
        probeModelVersion: 'v0',
        backend: tf.getBackend(),
        maxSeqLen,
        batchSize: 4,
        emitNorms: false,
        path: 'batched',
        ownsModel: false,
        logger: pino({ level: 'silent' }),
      });

    it('scores as many positions as the model has: a T = max_position_embeddings row is not truncated', () => {
      const maxPos = model.config.max_position_embeddings;
      expect(scorer(maxPos + 100).maxSeqLen).toBe(maxPos + 1);
      expect(scorer(maxPos + 1).maxSeqLen).toBe(maxPos + 1);
      expect(scorer(64).maxSeqLen).toBe(64);
    });
  });
});
