/**
 * Model folders with a Hugging Face tokenizer.json, through @huggingface/tokenizers (pure JS, no
 * native code, no downloads). Text turns are formatted by the chat family the vocabulary reveals:
 *
 * - chatml (has `<|im_start|>`, e.g. Qwen): `<|im_start|>{role}\n` | `{content}<|im_end|>`, turns joined by "\n";
 * - llama3 (has `<|start_header_id|>`): `<|start_header_id|>{role}<|end_header_id|>\n\n` | `{content}<|eot_id|>`,
 *   turn 0 preceded by `<|begin_of_text|>` when the vocabulary has it;
 * - plain (anything else): `{role}: ` | `{content}`, turns joined by "\n\n".
 *
 * (`prefix | body`: only the body of an assistant turn is a target.) Each piece is tokenized on its own, as
 * token_ids from different turns are concatenated; this is not a full chat-template renderer (no system-prompt
 * defaults, no tool schemas). Producers that need the exact template should send token_ids.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { Role } from '../schemas/types.ts';
import type { TurnTokenizer, TurnTokens } from './types.ts';

export type TurnFormat = 'chatml' | 'llama3' | 'plain';

export class HfTokenizer implements TurnTokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  readonly format: TurnFormat;
  private readonly tok: Tokenizer;
  private readonly bos: number | undefined;

  constructor(tokenizerJson: object, tokenizerConfig: object = {}) {
    this.tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    let max = -1;
    for (const id of this.tok.get_vocab(true).values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    if (this.tok.token_to_id('<|im_start|>') !== undefined) this.format = 'chatml';
    else if (this.tok.token_to_id('<|start_header_id|>') !== undefined) this.format = 'llama3';
    else this.format = 'plain';
    this.bos = this.tok.token_to_id('<|begin_of_text|>');
  }

  encodeText(text: string): number[] {
    return text.length === 0 ? [] : this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  encodeTurn(role: Role, content: string, index: number): TurnTokens {
    switch (this.format) {
      case 'chatml':
        return {
          prefix: this.encodeText(`${index > 0 ? '\n' : ''}<|im_start|>${role}\n`),
          body: this.encodeText(`${content}<|im_end|>`),
        };
      case 'llama3': {
        const header = this.encodeText(`<|start_header_id|>${role}<|end_header_id|>\n\n`);
        return {
          prefix: index === 0 && this.bos !== undefined ? [this.bos, ...header] : header,
          body: this.encodeText(`${content}<|eot_id|>`),
        };
      }
      case 'plain':
        return {
          prefix: this.encodeText(`${index > 0 ? '\n\n' : ''}${role}: `),
          body: this.encodeText(content),
        };
    }
  }

  decode(ids: readonly number[]): string {
    return this.tok.decode([...ids], { skip_special_tokens: false });
  }
}
