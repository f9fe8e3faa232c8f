import type { Type } from 'avsc';
import { SCHEMA_FULLNAMES, canonicalSchema, parseSchema, type RecordOf, type SchemaKind } from './catalog.ts';
import { readerTypes } from './bundled.ts';
import { DecodeError } from './errors.ts';
import { conform, parseJsonBytes, schemaMismatch, toJsonText } from './json-value.ts';
import type { SchemaRegistry } from './registry.ts';
import { planRead, readValue, type ReadPlan } from './resolve.ts';
import { HEADER_SIZE, frame, readSchemaId } from './wire.ts';

export type WireFormat = 'avro' | 'json';

export interface CodecOptions {
  /** avro = Confluent wire format (default); json = plain UTF-8 JSON validated against the same schema. */
  format?: WireFormat;
  /** Source of schema ids; required for avro. */
  registry?: SchemaRegistry;
  /** Topic the bytes go to / come from: picks the subject (`<topic>-value`) on an HTTP registry. */
  topic?: string;
  /** Values longer than this are rejected with RECORD_TOO_LARGE before any parsing. */
  maxBytes?: number;
  /** Reader schemas to use instead of the bundled ones (schema-evolution tests, pinned readers). */
  readers?: Partial<Record<SchemaKind, Type>>;
}

export interface Decoded<K extends SchemaKind = SchemaKind> {
  kind: K;
  value: RecordOf[K];
  /** Writer schema id (avro), null for json. */
  schemaId: number | null;
}

/**
 * Shared engine: registry lookups and avsc resolvers, cached per writer id. Decoding is
 * structural only; semantic checks live in validate.ts.
 */
class Engine {
  private readonly writers = new Map<number, Promise<Type>>();
  private readonly plans = new Map<string, ReadPlan>();
  private readonly ids = new Map<SchemaKind, Promise<number>>();
  readonly readers: Record<SchemaKind, Type>;

  constructor(readonly opts: CodecOptions) {
    this.readers = { ...readerTypes(), ...opts.readers };
  }

  checkSize(bytes: Buffer | null | undefined): Buffer {
    if (!bytes || bytes.length === 0)
      throw new DecodeError('DECODE_EMPTY', 'value is empty (null or zero bytes)');
    const max = this.opts.maxBytes;
    if (max !== undefined && bytes.length > max) {
      throw new DecodeError(
        'RECORD_TOO_LARGE',
        `value has ${bytes.length} bytes, more than input.limits.maxBytes=${max}`,
      );
    }
    return bytes;
  }

  private registry(): SchemaRegistry {
    const r = this.opts.registry;
    if (!r) throw new Error('avro codec needs a schema registry (CodecOptions.registry)');
    return r;
  }

  writer(id: number): Promise<Type> {
    let p = this.writers.get(id);
    if (!p) {
      p = this.registry()
        .schemaById(id)
        .then((text) => {
          try {
            return parseSchema(text);
          } catch (err) {
            throw new DecodeError(
              'SCHEMA_MISMATCH',
              `schema id ${id} is not a valid Avro schema: ${String(err)}`,
              { cause: err },
            );
          }
        });
      this.writers.set(id, p);
      p.catch(() => this.writers.delete(id));
    }
    return p;
  }

  plan(id: number, writer: Type, expected: SchemaKind | undefined): ReadPlan {
    const key = `${id}:${expected ?? '*'}`;
    let p = this.plans.get(key);
    if (!p) {
      p = planRead(writer, this.readers, expected, `record with schema id ${id}`);
      this.plans.set(key, p);
    }
    return p;
  }

  async decodeAvro<K extends SchemaKind>(
    raw: Buffer | null | undefined,
    expected: K | undefined,
  ): Promise<Decoded<K>> {
    const bytes = this.checkSize(raw);
    const id = readSchemaId(bytes);
    const plan = this.plan(id, await this.writer(id), expected);
    const { value, end } = readValue(plan, bytes, HEADER_SIZE);
    if (end !== bytes.length) {
      throw new DecodeError(
        'DECODE_TRAILING_BYTES',
        `${bytes.length - end} bytes left after the record (schema id ${id})`,
      );
    }
    return { kind: plan.kind as K, value: value as RecordOf[K], schemaId: id };
  }

  decodeJson<K extends SchemaKind>(raw: Buffer | null | undefined, kind: K, what = 'JSON value'): Decoded<K> {
    const bytes = this.checkSize(raw);
    const parsed = parseJsonBytes(bytes, what);
    return { kind, value: conform<RecordOf[K]>(this.readers[kind], parsed, what), schemaId: null };
  }

  schemaId(kind: SchemaKind): Promise<number> {
    let p = this.ids.get(kind);
    if (!p) {
      const reg = this.registry();
      const subject = reg.subjectFor(this.opts.topic, SCHEMA_FULLNAMES[kind]);
      p = reg.idFor(subject, canonicalSchema(this.readers[kind]));
      this.ids.set(kind, p);
      p.catch(() => this.ids.delete(kind));
    }
    return p;
  }

  body(kind: SchemaKind, value: unknown): Buffer {
    const type = this.readers[kind];
    try {
      return type.toBuffer(value);
    } catch {
      throw schemaMismatch(type, value, `${SCHEMA_FULLNAMES[kind]} to encode`);
    }
  }
}

/** Encodes and decodes one record kind in the configured format. */
export class RecordCodec<K extends SchemaKind> {
  readonly format: WireFormat;
  private readonly engine: Engine;

  constructor(
    readonly kind: K,
    opts: CodecOptions = {},
  ) {
    this.format = opts.format ?? 'avro';
    this.engine = new Engine(opts);
  }

  /** The reader (and writer) schema of this codec. */
  get type(): Type {
    return this.engine.readers[this.kind];
  }

  async encode(value: RecordOf[K]): Promise<Buffer> {
    if (this.format === 'json') {
      const type = this.type;
      if (!type.isValid(value)) throw schemaMismatch(type, value, `${SCHEMA_FULLNAMES[this.kind]} to encode`);
      return Buffer.from(toJsonText(value, SCHEMA_FULLNAMES[this.kind]), 'utf8');
    }
    const id = await this.engine.schemaId(this.kind);
    return frame(id, this.engine.body(this.kind, value));
  }

  /** Structural decode (throws DecodeError); follow with validateTrajectory for trajectories. */
  async decode(bytes: Buffer | null | undefined): Promise<RecordOf[K]> {
    return (await this.decodeWithInfo(bytes)).value;
  }

  async decodeWithInfo(bytes: Buffer | null | undefined): Promise<Decoded<K>> {
    return this.format === 'json'
      ? this.engine.decodeJson(bytes, this.kind)
      : this.engine.decodeAvro(bytes, this.kind);
  }

  /** A parsed-JSON-or-bytes JSON document (a JSONL line) → record, whatever the wire format. */
  decodeJsonLine(line: Buffer, what = 'line'): RecordOf[K] {
    return this.engine.decodeJson(line, this.kind, what).value;
  }
}

/** Decodes Avro wire-format values of any prism record kind, choosing the reader by the writer's record name. */
export class AnyRecordDecoder {
  private readonly engine: Engine;

  constructor(opts: Omit<CodecOptions, 'format'>) {
    this.engine = new Engine({ ...opts, format: 'avro' });
  }

  decode(bytes: Buffer | null | undefined): Promise<Decoded> {
    return this.engine.decodeAvro(bytes, undefined);
  }
}
