import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

export interface Line {
  /** 1-based line number. */
  lineNo: number;
  /** Raw bytes without the newline (and without a trailing \r); empty when `tooLong`. */
  bytes: Buffer;
  /** Byte length of the line (kept even when the bytes were dropped). */
  length: number;
  /** Longer than maxLineBytes: bytes were not kept, so one giant line cannot exhaust memory. */
  tooLong: boolean;
}

/** `-` means stdin. */
export function openInput(path: string): Readable {
  return path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
}

/**
 * Splits a byte stream on \n without decoding it (so invalid UTF-8 is still visible to the
 * decoder as INVALID_UTF8 rather than silently replaced). Blank lines are yielded too.
 */
export async function* readLines(
  input: Readable,
  maxLineBytes: number,
  onBytes?: (n: number) => void,
): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let length = 0;
  let lineNo = 0;
  const finish = (): Line => {
    lineNo++;
    let bytes: Buffer = Buffer.alloc(0);
    let len = length;
    if (length <= maxLineBytes + 1) {
      bytes = parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
      if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) {
        bytes = bytes.subarray(0, bytes.length - 1);
        len--;
      }
    }
    const tooLong = len > maxLineBytes;
    if (tooLong) bytes = Buffer.alloc(0);
    parts = [];
    length = 0;
    return { lineNo, bytes, length: len, tooLong };
  };
  const keep = (b: Buffer): void => {
    length += b.length;
    if (length <= maxLineBytes + 1) parts.push(b);
    else parts = [];
  };
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    onBytes?.(buf.length);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      keep(buf.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
    if (start < buf.length) keep(Buffer.from(buf.subarray(start)));
  }
  if (length > 0) yield finish();
}
