/**
 * The most tokens of one trajectory that a model with `maxPositions` positions (its
 * max_position_embeddings) can score under `maxSeqLen` (scorer.maxSeqLen, which counts tokens).
 * Next-token loss feeds every token but the last and predicts every token but the first, so a
 * trajectory of n tokens takes n − 1 positions: the model's limit is maxPositions + 1 tokens.
 */
export function tokenLimit(maxSeqLen: number, maxPositions: number): number {
  return Math.min(maxSeqLen, maxPositions + 1);
}
