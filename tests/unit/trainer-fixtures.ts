/**
 * Tiny models and synthetic trajectories for trainer tests (not a test file itself).
 */
import { parseModelConfig } from '../../src/model/config.ts';
import { randomWeights } from '../../src/model/init.ts';
import { LlamaModel } from '../../src/model/llama.ts';
import type { ScoredTrajectory, Trajectory, Turn } from '../../src/schemas/types.ts';
import type { InputRecord } from '../../src/trainer/types.ts';

export const TINY_VOCAB = 48;

/** hidden 32, 2 layers, vocab 48: a few ms per micro-batch on the cpu backend. */
export function tinyModel(seed = 1): LlamaModel {
  const config = parseModelConfig({
    model_type: 'llama',
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    vocab_size: TINY_VOCAB,
    max_position_embeddings: 64,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
  });
  return new LlamaModel(config, randomWeights(config, seed));
}

/**
 * A learnable task: the user gives a start token s, the assistant continues s+1, s+2, ... (mod 40,
 * offset 4). Same start → same answer, so the next-token rule "add one" is all there is to learn.
 */
export function countingTrajectory(
  id: string,
  start: number,
  opts: Partial<Trajectory> = {},
  len = 6,
): Trajectory {
  const answer = Array.from({ length: len }, (_, i) => 4 + ((start + 1 + i) % 40));
  const turns: Turn[] = [
    { role: 'user', content: '', token_ids: [1, 4 + (start % 40)], logprobs: null },
    { role: 'assistant', content: '', token_ids: answer, logprobs: null },
  ];
  return {
    id,
    task_id: `task-${start}`,
    env: null,
    turns,
    reward: null,
    metadata: {},
    created_at: 0,
    behavior_model_version: null,
    ...opts,
  };
}

export function scored(t: Trajectory, route: 'SFT' | 'RL' = 'SFT'): ScoredTrajectory {
  return {
    trajectory: t,
    prism: {
      gini: 0.1,
      kurtosis: 3,
      cv: 0.5,
      l2: 1,
      loss: 2,
      response_tokens: 6,
      truncated: false,
      norms: null,
      metric: 'gini',
      threshold: 0.2,
      route,
      probe_model_id: 'probe',
      probe_model_version: '0',
      scored_at: 0,
      source_topic: 'prism.trajectories',
      source_partition: 0,
      source_offset: '0',
    },
  };
}

export function inputRecord(
  value: ScoredTrajectory,
  offset: number,
  topic = 'in',
  partition = 0,
): InputRecord {
  return {
    topic,
    partition,
    offset: String(offset),
    value,
    key: Buffer.from(value.trajectory.id),
    raw: Buffer.from('x'),
    headers: {},
  };
}
