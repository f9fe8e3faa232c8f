import type { Type } from 'avsc';
import { SCHEMA_FULLNAMES, canonicalSchema, kindOfFullName, type SchemaKind } from './catalog.ts';
import { DecodeError } from './errors.ts';
import { scanAvro } from './guard.ts';

export type Resolver = ReturnType<Type['createResolver']>;

/** How to read values written with one writer schema. */
export interface ReadPlan {
  kind: SchemaKind;
  writer: Type;
  reader: Type;
  /** null when writer and reader schemas are identical (no resolution needed). */
  resolver: Resolver | null;
}

/**
 * Picks the reader for `writer` (the expected kind, or the kind named by the writer's record
 * name) and builds the avsc resolver (schema evolution: reader fields missing from the writer
 * take their defaults, writer fields unknown to the reader are skipped).
 */
export function planRead(
  writer: Type,
  readers: Record<SchemaKind, Type>,
  expected: SchemaKind | undefined,
  what: string,
): ReadPlan {
  const kind = expected ?? kindOfFullName(writer.name);
  if (kind === undefined) {
    throw new DecodeError(
      'SCHEMA_MISMATCH',
      `${what} is ${writer.name ?? writer.typeName}, not a prism record`,
    );
  }
  const reader = readers[kind];
  if (writer.name !== reader.name) {
    throw new DecodeError(
      'SCHEMA_MISMATCH',
      `${what} is ${writer.name ?? writer.typeName}, expected ${SCHEMA_FULLNAMES[kind]}`,
    );
  }
  if (canonicalSchema(writer) === canonicalSchema(reader)) return { kind, writer, reader, resolver: null };
  try {
    return { kind, writer, reader, resolver: reader.createResolver(writer) };
  } catch (err) {
    throw new DecodeError(
      'SCHEMA_INCOMPATIBLE',
      `${what} cannot be read as the current ${reader.name}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Decodes one value at `pos`: bounded pre-scan first (typed errors, never hangs), then avsc.
 * Returns the value and the position after it.
 */
export function readValue(plan: ReadPlan, buf: Buffer, pos: number): { value: unknown; end: number } {
  const end = scanAvro(plan.writer, buf, pos);
  try {
    const r =
      plan.resolver === null ? plan.reader.decode(buf, pos) : plan.reader.decode(buf, pos, plan.resolver);
    if (r.offset < 0) throw new Error('avsc reports a truncated buffer');
    return { value: r.value, end };
  } catch (err) {
    throw new DecodeError('DECODE_INVALID_AVRO', `cannot decode Avro value: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
