import { isUtf8 } from 'node:buffer';
import type { Type } from 'avsc';
import { DecodeError } from './errors.ts';

/**
 * A bounded pre-scan of an Avro binary value against its writer schema, run before avsc decodes.
 *
 * Why: avsc trusts length prefixes. A corrupted array/map block count (say 2^50) makes it loop
 * that many times reading past the buffer, i.e. hang or exhaust memory, and it silently
 * replaces invalid UTF-8 with U+FFFD. This scan walks the bytes once, rejects every
 * impossibility with a typed DecodeError, and guarantees each loop step consumes input, so it
 * is linear in the buffer size. After it passes, avsc only sees well-formed input.
 */

/** Items of zero encoded size (null, empty records) cannot be bounded by bytes; cap their count. */
const MAX_ZERO_SIZE_ITEMS = 1_000_000;
/** Nesting deeper than this is only possible with recursive schemas fed hostile bytes. */
const MAX_DEPTH = 128;
/** Longs are read exactly (logical-types.ts EXACT_LONG) within the safe-integer range. */
const MAX_SAFE_LONG = BigInt(Number.MAX_SAFE_INTEGER);

interface AnyType {
  typeName: string;
  fields?: { name: string; type: AnyType }[];
  itemsType?: AnyType;
  valuesType?: AnyType;
  types?: AnyType[];
  symbols?: string[];
  size?: number;
  underlyingType?: AnyType;
}

/** Returns the position just after the value of `type` that starts at `pos`. */
export function scanAvro(type: Type, buf: Buffer, pos: number): number {
  return new Scanner(buf).value(type as unknown as AnyType, pos, 0, '');
}

const minSizes = new WeakMap<AnyType, number>();

/** Smallest possible encoding of a value of `t`, in bytes (0 for null / empty records). */
function minSize(t: AnyType): number {
  const cached = minSizes.get(t);
  if (cached !== undefined) return cached;
  minSizes.set(t, 0); // recursion guard: a recursive reference counts as 0
  let n: number;
  switch (t.typeName) {
    case 'null':
      n = 0;
      break;
    case 'float':
      n = 4;
      break;
    case 'double':
      n = 8;
      break;
    case 'fixed':
      n = t.size ?? 0;
      break;
    case 'record':
    case 'error':
      n = (t.fields ?? []).reduce((s, f) => s + minSize(f.type), 0);
      break;
    default:
      n = t.typeName.startsWith('logical:') && t.underlyingType ? minSize(t.underlyingType) : 1;
  }
  minSizes.set(t, n);
  return n;
}

function join(path: string, part: string | number): string {
  return typeof part === 'number' ? `${path}[${part}]` : path ? `${path}.${part}` : part;
}

class Scanner {
  constructor(private readonly buf: Buffer) {}

  value(t: AnyType, pos: number, depth: number, path: string): number {
    if (depth > MAX_DEPTH)
      throw new DecodeError('DECODE_INVALID_AVRO', `nesting deeper than ${MAX_DEPTH}`, { path });
    switch (t.typeName) {
      case 'null':
        return pos;
      case 'boolean': {
        this.need(pos, 1, path);
        const b = this.buf[pos];
        if (b !== 0 && b !== 1)
          throw new DecodeError('DECODE_INVALID_AVRO', `boolean byte is ${b}`, { path });
        return pos + 1;
      }
      case 'int':
        return this.varint(pos, 5, path).next;
      case 'long':
      case 'abstract:long': // EXACT_LONG (logical-types.ts)
        return this.varint(pos, 10, path).next;
      case 'float':
        return this.need(pos, 4, path);
      case 'double':
        return this.need(pos, 8, path);
      case 'fixed':
        return this.need(pos, t.size ?? 0, path);
      case 'bytes':
      case 'string': {
        const { value: len, next } = this.length(pos, path);
        const end = this.need(next, len, path);
        if (t.typeName === 'string' && !isUtf8(this.buf.subarray(next, end))) {
          throw new DecodeError('INVALID_UTF8', `string at ${path || 'value'} is not valid UTF-8`, { path });
        }
        return end;
      }
      case 'enum': {
        const { value: i, next } = this.varint(pos, 10, path);
        const n = t.symbols?.length ?? 0;
        if (i < 0 || i >= n)
          throw new DecodeError('DECODE_INVALID_AVRO', `enum index ${i} out of range 0..${n - 1}`, { path });
        return next;
      }
      case 'record':
      case 'error': {
        let p = pos;
        for (const f of t.fields ?? []) p = this.value(f.type, p, depth + 1, join(path, f.name));
        return p;
      }
      case 'array':
        return this.blocks(
          pos,
          depth,
          path,
          (p, i) => this.value(t.itemsType as AnyType, p, depth + 1, join(path, i)),
          minSize(t.itemsType as AnyType),
        );
      case 'map':
        return this.blocks(
          pos,
          depth,
          path,
          (p) => {
            const { value: len, next } = this.length(p, path);
            const keyEnd = this.need(next, len, path);
            if (!isUtf8(this.buf.subarray(next, keyEnd))) {
              throw new DecodeError('INVALID_UTF8', `map key at ${path} is not valid UTF-8`, { path });
            }
            return this.value(
              t.valuesType as AnyType,
              keyEnd,
              depth + 1,
              join(path, this.buf.toString('utf8', next, keyEnd)),
            );
          },
          1,
        );
      case 'union:unwrapped':
      case 'union:wrapped': {
        const { value: i, next } = this.varint(pos, 10, path);
        const branches = t.types ?? [];
        if (i < 0 || i >= branches.length) {
          throw new DecodeError(
            'DECODE_INVALID_AVRO',
            `union branch ${i} out of range 0..${branches.length - 1}`,
            { path },
          );
        }
        return this.value(branches[i], next, depth + 1, path);
      }
      default:
        if (t.typeName.startsWith('logical:') && t.underlyingType)
          return this.value(t.underlyingType, pos, depth, path);
        throw new DecodeError('DECODE_INVALID_AVRO', `unsupported Avro type ${t.typeName}`, { path });
    }
  }

  /** Array/map blocks: count (negative = followed by a byte size), items, ..., terminated by 0. */
  private blocks(
    pos: number,
    _depth: number,
    path: string,
    item: (p: number, i: number) => number,
    itemMin: number,
  ): number {
    let p = pos;
    let index = 0;
    for (;;) {
      const head = this.varint(p, 10, path);
      p = head.next;
      let count = head.value;
      if (count === 0) return p;
      if (count < 0) {
        count = -count;
        const size = this.length(p, path);
        p = size.next;
        this.need(p, size.value, path);
      }
      const remaining = this.buf.length - p;
      // Each item needs at least itemMin bytes: a count the rest of the buffer cannot hold is corrupt.
      if (itemMin > 0 ? count * itemMin > remaining : index + count > MAX_ZERO_SIZE_ITEMS) {
        throw new DecodeError(
          'DECODE_TRUNCATED',
          `block of ${count} items at ${path || 'value'} cannot fit in the ${remaining} bytes left`,
          { path },
        );
      }
      for (let k = 0; k < count; k++) p = item(p, index++);
    }
  }

  /** A non-negative length (string/bytes/map key/block size) that fits in the buffer. */
  private length(pos: number, path: string): { value: number; next: number } {
    const r = this.varint(pos, 10, path);
    if (r.value < 0) throw new DecodeError('DECODE_INVALID_AVRO', `negative length ${r.value}`, { path });
    return r;
  }

  private need(pos: number, n: number, path: string): number {
    if (pos + n > this.buf.length) {
      throw new DecodeError(
        'DECODE_TRUNCATED',
        `value ends early at ${path || 'value'} (needs ${n} bytes at offset ${pos}, ${this.buf.length} total)`,
        {
          path,
        },
      );
    }
    return pos + n;
  }

  /** Zig-zag varint of at most `maxBytes` bytes; longs beyond ±(2^53 − 1) are rejected. */
  private varint(pos: number, maxBytes: number, path: string): { value: number; next: number } {
    let raw = 0;
    let big: bigint | undefined;
    let p = pos;
    for (let k = 0; ; k++) {
      if (k >= maxBytes)
        throw new DecodeError('DECODE_INVALID_AVRO', `varint longer than ${maxBytes} bytes`, { path });
      if (p >= this.buf.length)
        throw new DecodeError('DECODE_TRUNCATED', `value ends inside a varint at ${path || 'value'}`, {
          path,
        });
      const b = this.buf[p++];
      // Exact in float up to 7 groups (49 bits); BigInt beyond.
      if (k < 7) raw += (b & 0x7f) * 2 ** (7 * k);
      else big = (big ?? BigInt(raw)) + (BigInt(b & 0x7f) << BigInt(7 * k));
      if ((b & 0x80) === 0) break;
    }
    let value: number;
    if (big === undefined) {
      value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    } else {
      const v = big % 2n === 0n ? big / 2n : -(big + 1n) / 2n;
      if (v > MAX_SAFE_LONG || v < -MAX_SAFE_LONG) {
        throw new DecodeError(
          'DECODE_INVALID_AVRO',
          `integer at ${path || 'value'} exceeds 2^53 (precision loss)`,
          { path },
        );
      }
      value = Number(v);
    }
    if (maxBytes === 5 && (value > 0x7fffffff || value < -0x80000000)) {
      throw new DecodeError('DECODE_INVALID_AVRO', `int at ${path || 'value'} out of 32-bit range`, { path });
    }
    return { value, next: p };
  }
}
