/**
 * The records that flow through prism-stream, as TypeScript sees them after decoding.
 * They mirror the Avro schemas in schemas/*.avsc field by field (snake_case kept on purpose,
 * so a decoded record is the Avro record).
 */

export type Role = 'system' | 'user' | 'assistant' | 'tool' | 'observation';

export interface Turn {
  role: Role;
  content: string;
  /** Token ids of this turn in the probe model's vocabulary; tokenized from `content` when absent. */
  token_ids: number[] | null;
  /** Behaviour-policy log-probabilities, one per token of an assistant turn. */
  logprobs: number[] | null;
}

export interface Trajectory {
  id: string;
  /** Trajectories of the same task form one RL group. */
  task_id: string;
  env: string | null;
  turns: Turn[];
  reward: number | null;
  metadata: Record<string, string>;
  /** Milliseconds since the epoch (Avro timestamp-millis). */
  created_at: number;
  behavior_model_version: string | null;
}

export type Route = 'SFT' | 'RL';
export type Metric = 'gini' | 'kurtosis' | 'cv' | 'l2';

/** The numbers PRISM computes for one trajectory. */
export interface PrismScores {
  gini: number;
  kurtosis: number;
  cv: number;
  l2: number;
  loss: number;
  response_tokens: number;
  truncated: boolean;
  /** The 7L vector of per-matrix gradient Frobenius norms (layer-major; q,k,v,o,gate,up,down). */
  norms: number[] | null;
}

export interface PrismBlock extends PrismScores {
  metric: Metric;
  threshold: number;
  route: Route;
  probe_model_id: string;
  probe_model_version: string;
  /** Milliseconds since the epoch. */
  scored_at: number;
  source_topic: string;
  source_partition: number;
  /** Kafka offsets are 64-bit: carried as decimal strings. */
  source_offset: string;
}

export interface ScoredTrajectory {
  trajectory: Trajectory;
  prism: PrismBlock;
}

export type Trainer = 'sft' | 'rl';

export interface ModelUpdate {
  model_id: string;
  version: string;
  step: number;
  /** Checkpoint folder (file:// URI or path). */
  uri: string;
  /** sha256 over the checkpoint's weight files, hex. */
  sha256: string;
  created_at: number;
  trainer: Trainer;
  metrics: Record<string, number>;
}
