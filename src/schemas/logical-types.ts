import avro from 'avsc';
import type { ForSchemaOptions, Type } from 'avsc';

/**
 * Avro `timestamp-millis` (a long) as a plain number of milliseconds since the epoch.
 * avsc has no built-in logical types; registering this one keeps `logicalType` in exported
 * schemas (registry.json, Avro file headers) and rejects values that are not whole, safe
 * millisecond counts. On input it also accepts a Date or an ISO-8601 string (handy in
 * hand-written JSONL); decoded values are always numbers, matching `created_at: number`.
 */
export class TimestampMillisType extends avro.types.LogicalType {
  protected override _fromValue(val: unknown): number {
    return val as number;
  }

  protected override _toValue(val: unknown): number | undefined {
    if (typeof val === 'number') return Number.isSafeInteger(val) ? val : undefined;
    if (val instanceof Date) {
      const ms = val.getTime();
      return Number.isSafeInteger(ms) ? ms : undefined;
    }
    if (typeof val === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(val)) {
      const ms = Date.parse(val);
      return Number.isSafeInteger(ms) ? ms : undefined;
    }
    return undefined;
  }

  /** Readable from the same logical type, a plain long or an int (Avro promotion rules). */
  protected override _resolve(type: Type): ((v: unknown) => unknown) | undefined {
    if (type instanceof TimestampMillisType) return (v) => v;
    if (type.typeName === 'long' || type.typeName === 'abstract:long' || type.typeName === 'int')
      return (v) => v;
    return undefined;
  }
}

export const LOGICAL_TYPES = { 'timestamp-millis': TimestampMillisType } as const;

/**
 * avsc's default long does varint arithmetic in floats and silently corrupts values beyond
 * ±2^52 (e.g. -(2^52+1) decodes as +2^52). This long goes through exact 64-bit integers and
 * stays a JS number: every safe integer round-trips; larger values are refused on both sides
 * (carry 64-bit quantities such as offsets as strings).
 */
const MAX_LONG = BigInt(Number.MAX_SAFE_INTEGER);
export const EXACT_LONG: Type = avro.types.LongType.__with({
  fromBuffer(buf: Buffer): number {
    const v = buf.readBigInt64LE(0);
    if (v > MAX_LONG || v < -MAX_LONG) throw new RangeError(`long ${v} exceeds 2^53: precision loss`);
    return Number(v);
  },
  toBuffer(n: number): Buffer {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n), 0);
    return buf;
  },
  fromJSON: (n: number): number => n,
  toJSON: (n: number): number => n,
  isValid: (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n),
  compare: (a: number, b: number): number => (a === b ? 0 : a < b ? -1 : 1),
});

/**
 * Makes every `long` EXACT_LONG, including the long under timestamp-millis. avsc calls the hook
 * twice with the same object for a logical type: first for the logical type itself (we step
 * aside so it is built), then for its underlying type (we supply EXACT_LONG).
 */
function exactLongHook(): (schema: unknown) => Type | undefined {
  const building = new WeakSet<object>();
  return (schema) => {
    if (schema === 'long') return EXACT_LONG;
    if (typeof schema !== 'object' || schema === null || (schema as { type?: unknown }).type !== 'long')
      return undefined;
    const logical = (schema as { logicalType?: unknown }).logicalType;
    if (typeof logical === 'string' && logical in LOGICAL_TYPES && !building.has(schema)) {
      building.add(schema);
      return undefined;
    }
    building.delete(schema);
    return EXACT_LONG;
  };
}

/** The avsc options every prism type is parsed with. */
export function typeOptions(registry: Record<string, Type> = {}): Partial<ForSchemaOptions> {
  // omitRecordMethods: decoded records are plain data (no clone/toBuffer on their prototype).
  return {
    logicalTypes: LOGICAL_TYPES,
    wrapUnions: 'auto',
    omitRecordMethods: true,
    registry,
    typeHook: exactLongHook(),
  };
}
