import type { Role } from '../schemas/types.ts';

/**
 * The tokens one text turn contributes to a sequence. `prefix` is chat formatting (role header),
 * never a training target; `body` is the content plus the end-of-turn marker, a target when the turn
 * is the assistant's.
 */
export interface TurnTokens {
  prefix: number[];
  body: number[];
}

/** Turns text turns into token ids for one model's vocabulary. */
export interface TurnTokenizer {
  /** 'byte' (prism's built-in) or 'hf' (tokenizer.json). */
  readonly kind: 'byte' | 'hf';
  /** Largest id this tokenizer can emit, plus one. */
  readonly vocabSize: number;
  /** `index` is the turn's position in the trajectory (some formats add a separator or BOS to turn 0). */
  encodeTurn(role: Role, content: string, index: number): TurnTokens;
  /** Plain text → ids, no formatting or special tokens added. */
  encodeText(text: string): number[];
  decode(ids: readonly number[]): string;
}
