import avro from 'avsc';
import type { Type } from 'avsc';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { canonicalSchema, parseSchema, type SchemaKind } from '../schemas/catalog.ts';
import { DecodeError, RecordError } from '../schemas/errors.ts';
import { scanAvro } from '../schemas/guard.ts';
import { planRead, readValue, type ReadPlan } from '../schemas/resolve.ts';
import { IoError } from './errors.ts';

/**
 * Avro object container files (.avro). Reading is done here rather than with avsc's
 * BlockDecoder because avsc trusts block and array counts: a damaged file could make it spin
 * or allocate without bound. Header and blocks are parsed as Avro records with the bounded
 * scanner (schemas/guard.ts); each item is scanned before avsc decodes it. Writing uses avsc's
 * BlockEncoder (deflate by default).
 */
const MAGIC = Buffer.from('Obj\x01', 'latin1');
const HEADER_TYPE = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
const BLOCK_TYPE = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Block',
  fields: [
    { name: 'count', type: 'long' },
    { name: 'data', type: 'bytes' },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
/** Decompressed block size cap (zip-bomb guard). */
const MAX_BLOCK_BYTES = 256 * 1024 * 1024;

export type AvroCodecName = 'null' | 'deflate';

export interface AvroFileItem {
  /** 1-based record index in the file. */
  index: number;
  kind: SchemaKind;
  value: unknown;
}

function corrupt(path: string, what: string, cause?: unknown): IoError {
  return new IoError('AVRO_FILE_CORRUPT', `${path}: ${what}`, { cause });
}

/** Tries to scan a value at pos; returns its end, or -1 when more bytes are needed. */
function tryScan(type: Type, buf: Buffer, pos: number, eof: boolean, path: string, what: string): number {
  try {
    return scanAvro(type, buf, pos);
  } catch (err) {
    if (err instanceof DecodeError && err.code === 'DECODE_TRUNCATED' && !eof) return -1;
    throw corrupt(path, `${what}: ${(err as Error).message}`, err);
  }
}

/**
 * Yields every record of an Avro container file, resolved to the current reader schema of its
 * kind (`expected`, or the kind named by the file's writer schema). Throws IoError
 * AVRO_FILE_CORRUPT for structural damage and DecodeError SCHEMA_* when the file's schema is
 * not a readable prism schema.
 */
export async function* readAvroFile(
  input: Readable,
  path: string,
  readers: Record<SchemaKind, Type>,
  expected?: SchemaKind,
  onBytes?: (n: number) => void,
): AsyncGenerator<AvroFileItem> {
  let buf = Buffer.alloc(0);
  let pos = 0;
  let eof = false;
  const chunks = input[Symbol.asyncIterator]();
  const more = async (): Promise<void> => {
    const next = await chunks.next();
    if (next.done) {
      eof = true;
      return;
    }
    onBytes?.((next.value as Buffer).length);
    buf = Buffer.concat([buf.subarray(pos), next.value as Buffer]);
    pos = 0;
  };
  /** End of the value of `type` at `pos`, reading more input until it is complete. */
  const scanOrMore = async (type: Type, what: string): Promise<number> => {
    for (;;) {
      const end = tryScan(type, buf, pos, eof, path, what);
      if (end >= 0) return end;
      await more();
    }
  };

  // Header.
  while (buf.length < MAGIC.length && !eof) await more();
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC))
    throw corrupt(path, 'not an Avro object container file (bad magic)');
  let end = await scanOrMore(HEADER_TYPE, 'header');
  const header = HEADER_TYPE.decode(buf, pos).value as { meta: Record<string, Buffer>; sync: Buffer };
  pos = end;
  const codec = header.meta['avro.codec']?.toString() ?? 'null';
  if (codec !== 'null' && codec !== 'deflate')
    throw corrupt(path, `unsupported codec ${codec} (use null or deflate)`);
  const schemaText = header.meta['avro.schema']?.toString();
  if (!schemaText) throw corrupt(path, 'header has no avro.schema');
  let writer: Type;
  try {
    writer = parseSchema(schemaText);
  } catch (err) {
    throw corrupt(path, `header schema is not valid Avro: ${(err as Error).message}`, err);
  }
  const plan: ReadPlan = planRead(
    writer,
    readers,
    expected,
    `${path} (schema ${writer.name ?? writer.typeName})`,
  );

  let index = 0;
  for (;;) {
    while (pos >= buf.length && !eof) await more();
    if (pos >= buf.length) return;
    end = await scanOrMore(BLOCK_TYPE, `block after record ${index}`);
    const block = BLOCK_TYPE.decode(buf, pos).value as { count: number; data: Buffer; sync: Buffer };
    pos = end;
    if (!block.sync.equals(header.sync)) throw corrupt(path, `bad sync marker after record ${index}`);
    let data: Buffer;
    try {
      data =
        codec === 'deflate' ? inflateRawSync(block.data, { maxOutputLength: MAX_BLOCK_BYTES }) : block.data;
    } catch (err) {
      throw corrupt(path, `cannot inflate block after record ${index}: ${(err as Error).message}`, err);
    }
    if (block.count < 0 || block.count > data.length)
      throw corrupt(path, `block claims ${block.count} records in ${data.length} bytes`);
    let p = 0;
    for (let k = 0; k < block.count; k++) {
      index++;
      let r: { value: unknown; end: number };
      try {
        r = readValue(plan, data, p);
      } catch (err) {
        // A damaged item loses the boundaries of the rest of its block: the file is corrupt.
        throw corrupt(path, `record ${index}: ${(err as Error).message}`, err);
      }
      p = r.end;
      yield { index, kind: plan.kind, value: r.value };
    }
    if (p !== data.length)
      throw corrupt(path, `${data.length - p} stray bytes at the end of a block (record ${index})`);
  }
}

export interface AvroFileWriter {
  write(value: unknown): Promise<void>;
  close(): Promise<void>;
}

/**
 * Writes records of `type` to an Avro container file. The sync marker is derived from the
 * schema, so the same records give the same bytes (reproducible conversions).
 */
export function createAvroFileWriter(
  path: string,
  type: Type,
  codec: AvroCodecName = 'deflate',
): AvroFileWriter {
  const syncMarker = createHash('md5').update(canonicalSchema(type)).digest();
  // writeHeader 'always': a file with no records is still a valid (empty) container.
  const encoder = new avro.streams.BlockEncoder(type, {
    codec,
    syncMarker,
    blockSize: 1 << 20,
    writeHeader: 'always',
  });
  const out = createWriteStream(path);
  const done = pipeline(encoder, out).catch((err: unknown) => {
    throw new IoError('IO_WRITE_FAILED', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  });
  let failed: unknown;
  done.catch((err: unknown) => {
    failed = err;
  });
  return {
    async write(value: unknown): Promise<void> {
      if (failed) throw failed;
      if (!type.isValid(value))
        throw new RecordError('SCHEMA_MISMATCH', `record does not match ${type.name ?? 'the schema'}`);
      if (!encoder.write(value)) await Promise.race([once(encoder, 'drain'), done]);
    },
    async close(): Promise<void> {
      encoder.end();
      await done;
    },
  };
}
