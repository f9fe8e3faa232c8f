import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../src/model/errors.ts';
import {
  encodeSafetensors,
  floatToBfloat16,
  floatToHalf,
  halfToFloat,
  parseSafetensors,
} from '../../src/model/safetensors.ts';

function bf16ToFloat(h: number): number {
  return new Float32Array(new Uint32Array([h << 16]).buffer)[0];
}

const tensorArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 }).chain((shape) =>
  fc
    .float32Array({
      minLength: shape.reduce((a, b) => a * b, 1),
      maxLength: shape.reduce((a, b) => a * b, 1),
    })
    .map((data) => ({ shape, data })),
);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof ModelError ? err.code : `not a ModelError: ${String(err)}`;
  }
  return 'no error';
}

describe('safetensors codec', () => {
  it('round-trips F32 tensors bit for bit, with any names, shapes and values', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        fc.infiniteStream(tensorArb),
        (names, stream) => {
          const filtered = names.filter((n) => n !== '__metadata__');
          const tensors = filtered.map((name) => ({ name, ...stream.next().value }));
          const file = parseSafetensors(encodeSafetensors(tensors));
          expect([...file.entries.keys()].sort()).toEqual(filtered.slice().sort());
          for (const t of tensors) {
            expect(file.entries.get(t.name)?.shape).toEqual(t.shape);
            expect(new Uint32Array(file.read(t.name).buffer)).toEqual(
              new Uint32Array(t.data.buffer.slice(0)),
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps a tensor literally named __proto__', () => {
    const file = parseSafetensors(
      encodeSafetensors([{ name: '__proto__', shape: [1], data: new Float32Array([7]) }]),
    );
    expect([...file.entries.keys()]).toEqual(['__proto__']);
    expect(Array.from(file.read('__proto__'))).toEqual([7]);
  });

  it('pads the header so tensor data starts on an 8-byte boundary and writes format=pt metadata', () => {
    const bytes = encodeSafetensors([{ name: 'w', shape: [3], data: new Float32Array([1, 2, 3]) }]);
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    expect(parseSafetensors(bytes).metadata).toEqual({ format: 'pt' });
  });

  it('decodes every non-NaN fp16 bit pattern exactly and re-encodes it to the same bits', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = halfToFloat(h);
      if (!Number.isNaN(x) && floatToHalf(x) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('decodes every non-NaN bf16 bit pattern exactly and re-encodes it to the same bits', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = bf16ToFloat(h);
      if (!Number.isNaN(x) && floatToBfloat16(x) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds float32 to the nearest fp16 and bf16 value (relative error ≤ half an ulp)', () => {
    fc.assert(
      fc.property(fc.float({ min: Math.fround(1e-4), max: 60000, noNaN: true }), (x) => {
        expect(Math.abs(halfToFloat(floatToHalf(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11);
        expect(Math.abs(bf16ToFloat(floatToBfloat16(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -8);
      }),
    );
  });

  it('reads F16 and BF16 files back as the rounded float32 values', () => {
    const data = Float32Array.from([0.1, -2.5, 3.14159, 65504, 1e-5]);
    for (const [dtype, round] of [
      ['F16', (x: number) => halfToFloat(floatToHalf(x))],
      ['BF16', (x: number) => bf16ToFloat(floatToBfloat16(x))],
      ['F64', (x: number) => x],
    ] as const) {
      const file = parseSafetensors(encodeSafetensors([{ name: 't', shape: [5], data }], { dtype }));
      expect(file.entries.get('t')?.dtype).toBe(dtype);
      expect(Array.from(file.read('t'))).toEqual(Array.from(data, round));
    }
  });

  it('rejects integer tensors with UNSUPPORTED_DTYPE naming the tensor', () => {
    const header = JSON.stringify({ ids: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } });
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    const file = parseSafetensors(bytes, 'x.safetensors');
    expect(codeOf(() => file.read('ids'))).toBe('UNSUPPORTED_DTYPE');
    expect(() => file.read('ids')).toThrow(/"ids".*I32/);
  });

  it('rejects truncated or inconsistent files with SAFETENSORS_CORRUPT', () => {
    const good = encodeSafetensors([{ name: 'w', shape: [4], data: new Float32Array(4) }]);
    expect(codeOf(() => parseSafetensors(good.subarray(0, 5)))).toBe('SAFETENSORS_CORRUPT');
    expect(codeOf(() => parseSafetensors(good.subarray(0, good.length - 4)))).toBe('SAFETENSORS_CORRUPT');
    const header = JSON.stringify({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } });
    const bad = new Uint8Array(8 + header.length + 8);
    new DataView(bad.buffer).setBigUint64(0, BigInt(header.length), true);
    bad.set(new TextEncoder().encode(header), 8);
    expect(codeOf(() => parseSafetensors(bad))).toBe('SAFETENSORS_CORRUPT');
  });
});
