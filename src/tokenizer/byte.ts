/**
 * prism's built-in byte-level tokenizer for the `tiny`/`small` presets: ids 0–255 are the UTF-8
 * bytes, 256+ are special tokens. A text turn is `<|role|>` then the content bytes then `<|end|>`;
 * the role marker is the turn's prefix (not a target), content bytes and `<|end|>` are its body.
 */
import type { Role } from '../schemas/types.ts';
import type { TurnTokenizer, TurnTokens } from './types.ts';

export const BYTE_SPECIAL_TOKENS = [
  '<|pad|>',
  '<|bos|>',
  '<|end|>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|tool|>',
  '<|observation|>',
] as const;
export type ByteSpecialToken = (typeof BYTE_SPECIAL_TOKENS)[number];

/** 256 bytes + 8 specials. */
export const BYTE_VOCAB_SIZE = 256 + BYTE_SPECIAL_TOKENS.length;

export function byteSpecialId(token: ByteSpecialToken): number {
  return 256 + BYTE_SPECIAL_TOKENS.indexOf(token);
}

const ROLE_TOKEN: Record<Role, ByteSpecialToken> = {
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
  tool: '<|tool|>',
  observation: '<|observation|>',
};

export class ByteTokenizer implements TurnTokenizer {
  readonly kind = 'byte' as const;
  readonly vocabSize = BYTE_VOCAB_SIZE;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  encodeTurn(role: Role, content: string, _index: number): TurnTokens {
    return {
      prefix: [byteSpecialId(ROLE_TOKEN[role])],
      body: [...this.encodeText(content), byteSpecialId('<|end|>')],
    };
  }

  encodeText(text: string): number[] {
    return Array.from(this.encoder.encode(text));
  }

  /** Bytes are decoded as UTF-8 (invalid sequences → U+FFFD); specials are written out as their names. */
  decode(ids: readonly number[]): string {
    let out = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length) out += this.decoder.decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (id < 256) bytes.push(id);
      else {
        flush();
        out += BYTE_SPECIAL_TOKENS[id - 256] ?? `<|unk:${id}|>`;
      }
    }
    flush();
    return out;
  }
}
