import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_VOCAB_SIZE, ByteTokenizer, byteSpecialId } from '../../src/tokenizer/byte.ts';
import type { Role } from '../../src/schemas/types.ts';

const tok = new ByteTokenizer();
const roles: Role[] = ['system', 'user', 'assistant', 'tool', 'observation'];

describe('ByteTokenizer', () => {
  it('encodes any string to its UTF-8 bytes and decodes back to the same string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        const ids = tok.encodeText(s);
        expect(ids).toEqual(Array.from(Buffer.from(s, 'utf8')));
        expect(tok.decode(ids)).toBe(s);
      }),
    );
  });

  it('formats a text turn as <|role|> (prefix) then content bytes and <|end|> (body)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...roles), fc.string(), fc.nat(5), (role, content, index) => {
        const { prefix, body } = tok.encodeTurn(role, content, index);
        expect(prefix).toEqual([byteSpecialId(`<|${role}|>` as Parameters<typeof byteSpecialId>[0])]);
        expect(body.at(-1)).toBe(byteSpecialId('<|end|>'));
        expect(body.slice(0, -1)).toEqual(tok.encodeText(content));
        expect([...prefix, ...body].every((id) => id >= 0 && id < BYTE_VOCAB_SIZE)).toBe(true);
      }),
    );
  });

  it('writes special tokens out by name when decoding', () => {
    const { prefix, body } = tok.encodeTurn('assistant', 'hé', 0);
    expect(tok.decode([...prefix, ...body])).toBe('<|assistant|>hé<|end|>');
    expect(BYTE_VOCAB_SIZE).toBe(264);
  });
});
