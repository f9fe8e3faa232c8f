import type { Type } from 'avsc';
import { access, constants } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { extname } from 'node:path';
import type { Writable } from 'node:stream';
import type { RecordOf, SchemaKind } from '../schemas/catalog.ts';
import { readerTypes } from '../schemas/bundled.ts';
import { RecordCodec } from '../schemas/codec.ts';
import { DecodeError, RecordError } from '../schemas/errors.ts';
import { toJsonText } from '../schemas/json-value.ts';
import { readAvroFile, createAvroFileWriter, type AvroCodecName } from './avro-file.ts';
import { IoError } from './errors.ts';
import { openInput, readLines } from './lines.ts';

export type FileFormat = 'jsonl' | 'avro';

/** `.jsonl` / `.ndjson` → jsonl, `.avro` → Avro object container; `-` (stdin/stdout) is JSONL. */
export function fileFormatOf(path: string): FileFormat {
  if (path === '-') return 'jsonl';
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.avro') return 'avro';
  throw new IoError(
    'IO_UNKNOWN_FORMAT',
    `cannot tell the format of ${path}: use a .jsonl or .avro file name`,
    { exitCode: 2 },
  );
}

/** One record of a file: the value, or why that line/record is unusable. */
export type ReadResult<T> =
  { ok: true; position: number; value: T } | { ok: false; position: number; error: RecordError };

export interface ReadOptions {
  /** Lines (JSONL) longer than this are RECORD_TOO_LARGE without being parsed. */
  maxBytes?: number;
  /** Reader schemas (defaults: schemas/*.avsc). */
  readers?: Partial<Record<SchemaKind, Type>>;
  /** Called with the size of every chunk read (progress bars). */
  onBytes?: (n: number) => void;
}

async function checkReadable(path: string): Promise<void> {
  if (path === '-') return;
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new IoError('IO_READ_FAILED', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads records of `kind` from a JSONL or Avro file. JSONL: one JSON object per line (blank
 * lines skipped); a bad line yields `{ ok: false }` with its 1-based line number and the
 * reading goes on. Avro: records are numbered from 1; a damaged file throws IoError.
 * Structural only: run validateTrajectory on trajectories.
 */
export async function* readRecordFile<K extends SchemaKind>(
  path: string,
  kind: K,
  opts: ReadOptions = {},
): AsyncGenerator<ReadResult<RecordOf[K]>> {
  const format = fileFormatOf(path);
  await checkReadable(path);
  const maxBytes = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
  if (format === 'avro') {
    const readers = { ...readerTypes(), ...opts.readers };
    for await (const item of readAvroFile(openInput(path), path, readers, kind, opts.onBytes)) {
      yield { ok: true, position: item.index, value: item.value as RecordOf[K] };
    }
    return;
  }
  const codec = new RecordCodec(kind, { format: 'json', readers: opts.readers });
  for await (const line of readLines(openInput(path), maxBytes, opts.onBytes)) {
    if (line.length === 0) continue;
    if (line.tooLong) {
      const error = new DecodeError(
        'RECORD_TOO_LARGE',
        `line ${line.lineNo} has ${line.length} bytes, more than ${maxBytes}`,
      );
      yield { ok: false, position: line.lineNo, error };
      continue;
    }
    if (line.bytes.every((b) => b === 0x20 || b === 0x09)) continue;
    try {
      yield {
        ok: true,
        position: line.lineNo,
        value: codec.decodeJsonLine(line.bytes, `line ${line.lineNo}`),
      };
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      yield { ok: false, position: line.lineNo, error: err };
    }
  }
}

export interface RecordFileWriter<T> {
  write(value: T): Promise<void>;
  close(): Promise<void>;
}

/** A JSONL writer on any stream (stdout is not ended on close). */
export function jsonlWriter<T>(out: Writable, endOnClose: boolean, name = 'output'): RecordFileWriter<T> {
  let failed: IoError | undefined;
  out.on('error', (err) => {
    failed ??= new IoError('IO_WRITE_FAILED', `cannot write ${name}: ${err.message}`, { cause: err });
  });
  return {
    async write(value: T): Promise<void> {
      if (failed) throw failed;
      if (!out.write(`${toJsonText(value, 'record')}\n`)) await once(out, 'drain');
    },
    async close(): Promise<void> {
      if (failed) throw failed;
      if (endOnClose) {
        out.end();
        await once(out, 'finish');
      }
    },
  };
}

export interface WriteOptions {
  /** Avro block compression (default deflate). */
  codec?: AvroCodecName;
  readers?: Partial<Record<SchemaKind, Type>>;
}

/** Writes records of `kind` to `path` by extension; `-` = JSONL on stdout. */
export function createRecordFileWriter<K extends SchemaKind>(
  path: string,
  kind: K,
  opts: WriteOptions = {},
): RecordFileWriter<RecordOf[K]> {
  const format = fileFormatOf(path);
  if (path === '-') return jsonlWriter(process.stdout, false, 'stdout');
  if (format === 'avro')
    return createAvroFileWriter(path, { ...readerTypes(), ...opts.readers }[kind], opts.codec);
  return jsonlWriter(createWriteStream(path), true, path);
}
