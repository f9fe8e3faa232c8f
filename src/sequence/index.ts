export { buildSequence, type BuiltSequence, type BuildOptions } from './build.ts';
export { packBatch, batchTensors, type PackedBatch } from './batch.ts';
export { perExampleLoss, tokenLogProbs } from './loss.ts';
export { SequenceError, type SequenceErrorCode } from './errors.ts';
export { chunkedHeadLoss, headChunkRows, HEAD_CHUNK_BYTES, type HeadTargets } from './head-loss.ts';
export { tokenLimit } from './token-limit.ts';
