import { DecodeError } from './errors.ts';

/**
 * Confluent wire format: byte 0 = magic 0x00, bytes 1–4 = schema id (int32 big-endian), then the
 * Avro binary body. (Magic 1 / GUID ids of newer serdes are not supported: DECODE_BAD_MAGIC.)
 */
export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

export function frame(schemaId: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + body.length);
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(schemaId, 1);
  out.set(body, HEADER_SIZE);
  return out;
}

/** Reads the 5-byte header; the Avro body starts at HEADER_SIZE. */
export function readSchemaId(bytes: Buffer): number {
  if (bytes.length === 0) throw new DecodeError('DECODE_EMPTY', 'value is empty');
  if (bytes[0] !== MAGIC_BYTE) {
    throw new DecodeError(
      'DECODE_BAD_MAGIC',
      `first byte is 0x${bytes[0].toString(16).padStart(2, '0')}, expected 0x00 (Confluent Avro wire format; is the producer sending JSON? set input.format)`,
    );
  }
  if (bytes.length < HEADER_SIZE) {
    throw new DecodeError(
      'DECODE_TRUNCATED',
      `value has ${bytes.length} bytes, shorter than the 5-byte wire header`,
    );
  }
  return bytes.readInt32BE(1);
}
