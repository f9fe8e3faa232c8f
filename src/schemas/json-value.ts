import type { Type } from 'avsc';
import { isUtf8 } from 'node:buffer';
import { DecodeError, RecordError, ValidationError } from './errors.ts';

/** `['turns','2','logprobs']` → `turns[2].logprobs`. */
export function formatPath(parts: readonly string[]): string {
  let out = '';
  for (const p of parts) out = /^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p;
  return out;
}

function describe(val: unknown): string {
  if (val === undefined) return 'missing';
  const s = JSON.stringify(val);
  return s === undefined ? String(val) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function expected(t: Type): string {
  const symbols = (t as { symbols?: string[] }).symbols;
  if (t.typeName === 'enum' && symbols) return `one of ${symbols.join(', ')}`;
  if (t.typeName.startsWith('union')) {
    const branches = (t as { types?: Type[] }).types ?? [];
    return branches.map((b) => b.typeName).join(' or ');
  }
  if (t.typeName.startsWith('logical:')) return t.typeName.slice('logical:'.length);
  return t.name ?? t.typeName;
}

/**
 * Why `value` does not match `type`, as a typed error naming the first bad field. Missing
 * fields that have defaults are not errors (they are filled in by `conform`).
 */
export function schemaMismatch(type: Type, value: unknown, what: string): RecordError {
  const problems: { path: string[]; val: unknown; type: Type }[] = [];
  type.isValid(value, { errorHook: (path, val, t) => problems.push({ path: [...path], val, type: t }) });
  const real = problems.filter((p) => p.val !== undefined);
  const first = real[0] ?? problems[0];
  if (!first)
    return new DecodeError('SCHEMA_MISMATCH', `${what} does not match schema ${type.name ?? type.typeName}`);
  const path = formatPath(first.path);
  if (path === 'id' && (first.val === undefined || first.val === null)) {
    return new ValidationError('MISSING_ID', `${what} has no id`, { path });
  }
  return new DecodeError(
    'SCHEMA_MISMATCH',
    `${what}: field ${path || '(root)'} is ${describe(first.val)}, expected ${expected(first.type)}`,
    { path },
  );
}

/**
 * Turns a parsed JSON object into the exact Avro value shape: defaults filled for missing
 * optional fields, unknown fields dropped (Avro reader semantics: forward compatible),
 * timestamps accepted as ms or ISO strings. Throws SCHEMA_MISMATCH with the field path.
 */
export function conform<T>(type: Type, value: unknown, what: string): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DecodeError(
      'SCHEMA_MISMATCH',
      `${what} is ${Array.isArray(value) ? 'an array' : describe(value)}, expected a JSON object`,
    );
  }
  let out: unknown;
  try {
    out = type.clone(value, { wrapUnions: false });
  } catch {
    throw schemaMismatch(type, value, what);
  }
  if (!type.isValid(out)) throw schemaMismatch(type, out, what);
  return out as T;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** JSON can spell lone surrogates (`"\ud800"`), which UTF-8 (and so Avro) cannot carry. */
function findLoneSurrogate(v: unknown, path: string[]): string[] | undefined {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? path : undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = findLoneSurrogate(v[i], [...path, String(i)]);
      if (hit) return hit;
    }
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const hit = findLoneSurrogate(k, path) ?? findLoneSurrogate(x, [...path, k]);
      if (hit) return hit;
    }
  }
  return undefined;
}

/**
 * Deepest legitimate nesting of a prism record is < 10 (trajectory → turns → turn → token_ids);
 * anything far deeper is hostile and would cost JSON.parse (and the schema walk) memory and stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Nesting depth of JSON text, by one linear scan over the bytes (strings skipped, escapes
 * honoured); stops as soon as `limit` is exceeded. No allocation, so it is safe on any input.
 */
export function jsonDepthExceeds(bytes: Uint8Array, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > limit) return true;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return false;
}

/** UTF-8 bytes → parsed JSON, with INVALID_UTF8 / DECODE_TOO_DEEP / DECODE_INVALID_JSON errors. */
export function parseJsonBytes(bytes: Buffer, what: string): unknown {
  if (!isUtf8(bytes)) throw new DecodeError('INVALID_UTF8', `${what} is not valid UTF-8`);
  if (jsonDepthExceeds(bytes)) {
    throw new DecodeError('DECODE_TOO_DEEP', `${what} nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DecodeError('DECODE_INVALID_JSON', `${what} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // Cheap filter first: only texts with a \uD8xx–\uDFxx escape can hold a lone surrogate.
  if (/\\u[dD][89a-fA-F]/.test(text)) {
    const path = findLoneSurrogate(value, []);
    if (path) {
      throw new DecodeError(
        'INVALID_UTF8',
        `${what}: string at ${formatPath(path) || '(root)'} has a lone UTF-16 surrogate`,
        {
          path: formatPath(path),
        },
      );
    }
  }
  return value;
}

/** JSON text of an Avro value; NaN/±Infinity cannot be written as JSON, so they are refused, not nulled. */
export function toJsonText(value: unknown, what: string): string {
  return JSON.stringify(value, (key: string, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new RecordError('SCHEMA_MISMATCH', `${what}: field ${key} is ${v}, which JSON cannot carry`, {
        path: key,
      });
    }
    return v;
  });
}
