/**
 * A small safetensors codec (https://github.com/huggingface/safetensors, format section):
 * u64 little-endian header length N, N bytes of JSON header `{name: {dtype, shape, data_offsets}, __metadata__}`,
 * then the raw little-endian tensor bytes. Written here because the only npm package (`safetensors` 0.0.1)
 * is a stub. Reads F32, F16, BF16 and F64 as float32; writes F32 (or F16/BF16 for fixtures).
 */
import { ModelError } from './errors.ts';

export type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';
const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const MAX_HEADER = 100 * 1024 * 1024;

export interface HeaderEntry {
  dtype: string;
  shape: number[];
  /** Byte range relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  file: string;
  metadata: Record<string, string>;
  entries: Map<string, HeaderEntry>;
  /** Decodes one tensor to float32; throws UNSUPPORTED_DTYPE for integer/bool tensors. */
  read(name: string): Float32Array;
}

function corrupt(file: string, message: string): ModelError {
  return new ModelError('SAFETENSORS_CORRUPT', `${file}: ${message}`);
}

/** The header of a safetensors file: its metadata and where each tensor's bytes lie. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  entries: Map<string, HeaderEntry>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/** The JSON header's length from a file's first 8 bytes, checked against the file's size. */
export function headerLength(first8: Uint8Array, fileBytes: number, file = '<buffer>'): number {
  if (first8.byteLength < 8 || fileBytes < 8) throw corrupt(file, 'shorter than the 8-byte header length');
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, fileBytes - 8)))
    throw corrupt(file, `header length ${n} exceeds the file`);
  return Number(n);
}

/** Parses the JSON header (`json`: its bytes) of a file of `fileBytes` bytes, checking every entry. */
export function parseHeader(json: Uint8Array, fileBytes: number, file = '<buffer>'): SafetensorsHeader {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (err) {
    throw corrupt(file, `header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw corrupt(file, 'header is not an object');
  const dataStart = 8 + json.byteLength;
  const dataLen = fileBytes - dataStart;
  const entries = new Map<string, HeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (v ?? {}) as Record<string, string>;
      continue;
    }
    entries.set(name, headerEntry(name, v, dataLen, file));
  }
  return { metadata, entries, dataStart };
}

function headerEntry(name: string, v: unknown, dataLen: number, file: string): HeaderEntry {
  const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  const offsets = e.data_offsets;
  if (
    typeof e.dtype !== 'string' ||
    !Array.isArray(e.shape) ||
    !e.shape.every((d) => Number.isInteger(d) && d >= 0) ||
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isInteger(o))
  ) {
    throw corrupt(file, `tensor "${name}" has a malformed header entry`);
  }
  const [begin, end] = offsets as [number, number];
  const shape = e.shape as number[];
  if (begin < 0 || end < begin || end > dataLen)
    throw corrupt(file, `tensor "${name}" lies outside the data section`);
  const width = BYTES[e.dtype];
  const numel = shape.reduce((a, b) => a * b, 1);
  if (width !== undefined && end - begin !== numel * width) {
    throw corrupt(
      file,
      `tensor "${name}" has ${end - begin} bytes, expected ${numel * width} for ${e.dtype}[${shape.join(',')}]`,
    );
  }
  return { dtype: e.dtype, shape, begin, end };
}

/** Parses a whole safetensors file held in memory. Tensor data is decoded lazily by `read`. */
export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const headerLen = headerLength(buf.subarray(0, 8), buf.byteLength, file);
  const { metadata, entries, dataStart } = parseHeader(buf.subarray(8, 8 + headerLen), buf.byteLength, file);
  return {
    file,
    metadata,
    entries,
    read(name: string): Float32Array {
      const e = entries.get(name);
      if (!e) throw new ModelError('MISSING_TENSOR', `${file}: no tensor "${name}"`);
      return decodeTensor(
        buf.subarray(dataStart + e.begin, dataStart + e.end),
        e.dtype,
        `${file}: tensor "${name}"`,
      );
    },
  };
}

/**
 * One tensor's bytes as float32. `owned`: the bytes are a fresh buffer nobody else uses (read from the
 * file for this tensor alone), so F32 data starting at offset 0 is viewed, not copied.
 */
export function decodeTensor(bytes: Uint8Array, dtype: string, what: string, owned = false): Float32Array {
  if (owned && dtype === 'F32' && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return new Float32Array(bytes.buffer as ArrayBuffer);
  }
  return decode(bytes, dtype, what);
}

function decode(bytes: Uint8Array, dtype: string, what: string): Float32Array {
  // Copy into a fresh, aligned buffer: tensor offsets in the file need not be aligned.
  const copy = new Uint8Array(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(copy.buffer);
    case 'F64':
      return Float32Array.from(new Float64Array(copy.buffer));
    case 'F16': {
      const h = new Uint16Array(copy.buffer);
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case 'BF16': {
      const h = new Uint16Array(copy.buffer);
      const bits = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
      return new Float32Array(bits.buffer);
    }
    default:
      throw new ModelError(
        'UNSUPPORTED_DTYPE',
        `${what} has dtype ${dtype}; only F32, F16, BF16 and F64 weights are supported`,
      );
  }
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * Encodes tensors (in the given order) as one safetensors file. The header is padded with spaces
 * to a multiple of 8 bytes, as the reference writer does, so every tensor starts aligned.
 */
export function encodeSafetensors(
  tensors: readonly TensorToWrite[],
  opts: { dtype?: FloatDtype; metadata?: Record<string, string> } = {},
): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const width = BYTES[dtype];
  // Null prototype: a tensor named "__proto__" must become a key, not the object's prototype.
  const header = Object.create(null) as Record<string, unknown>;
  header.__metadata__ = opts.metadata ?? { format: 'pt' };
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) {
      throw new ModelError(
        'SAFETENSORS_CORRUPT',
        `cannot write tensor name "${t.name}" (reserved or duplicate)`,
      );
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new ModelError(
        'SHAPE_MISMATCH',
        `tensor "${t.name}": shape [${t.shape.join(',')}] does not hold ${t.data.length} values`,
      );
    }
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + numel * width] };
    offset += numel * width;
  }
  let json = JSON.stringify(header);
  const jsonBytes = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - ((8 + jsonBytes) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    const bytes = encode(t.data, dtype);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

function encode(data: Float32Array, dtype: FloatDtype): Uint8Array {
  switch (dtype) {
    case 'F32':
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'F64':
      return new Uint8Array(Float64Array.from(data).buffer);
    case 'F16':
      return new Uint8Array(Uint16Array.from(data, floatToHalf).buffer);
    case 'BF16':
      return new Uint8Array(Uint16Array.from(data, floatToBfloat16).buffer);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 → float32 (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 → IEEE binary16, round to nearest even (as torch's `.half()`). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → ±inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    const m = mant | 0x800000; // implicit leading 1
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

/** float32 → bfloat16, round to nearest even (as torch's `.bfloat16()`); NaN stays NaN. */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
