import { describe, expect, it } from 'vitest';
import {
  DLQ_HEADERS,
  UNEXPECTED_ERROR_CODE,
  buildDeadLetter,
  readDeadLetter,
} from '../../src/schemas/dead-letter.ts';
import { DecodeError } from '../../src/schemas/errors.ts';

const source = {
  topic: 'prism.trajectories',
  partition: 2,
  offset: '9223372036854775806',
  key: Buffer.from('traj-1'),
  value: Buffer.from([0, 0, 0, 0, 9, 1, 2, 3]),
  headers: { trace: 'abc' },
};

describe('buildDeadLetter', () => {
  it('keeps key and value bytes untouched and adds the KIP-1034 headers plus prism.error.code', () => {
    const err = new DecodeError('DECODE_UNKNOWN_SCHEMA_ID', 'schema id 9 is not in registry.json');
    const msg = buildDeadLetter(source, err);
    expect(msg.key).toBe(source.key);
    expect(msg.value).toBe(source.value);
    expect(msg.headers).toMatchObject({
      trace: 'abc',
      '__streams.errors.exception': 'DecodeError',
      '__streams.errors.message': 'schema id 9 is not in registry.json',
      '__streams.errors.topic': 'prism.trajectories',
      '__streams.errors.partition': '2',
      '__streams.errors.offset': '9223372036854775806',
      'prism.error.code': 'DECODE_UNKNOWN_SCHEMA_ID',
    });
    expect(String(msg.headers[DLQ_HEADERS.stacktrace])).toContain('DecodeError');
  });

  it('marks non-prism errors UNEXPECTED_ERROR and accepts a tombstone', () => {
    const msg = buildDeadLetter({ ...source, key: null, value: null }, new TypeError('boom'));
    expect(msg.value).toBeNull();
    expect(msg.headers[DLQ_HEADERS.code]).toBe(UNEXPECTED_ERROR_CODE);
    expect(msg.headers[DLQ_HEADERS.exception]).toBe('TypeError');
  });

  it('caps huge messages so the DLQ record stays small', () => {
    const msg = buildDeadLetter(source, new Error('x'.repeat(100_000)));
    expect(String(msg.headers[DLQ_HEADERS.message]).length).toBeLessThanOrEqual(8192);
  });

  it('reads back what it wrote, also from Buffer headers as consumed from Kafka', () => {
    const msg = buildDeadLetter(source, new DecodeError('DECODE_TRUNCATED', 'short'));
    const asConsumed = Object.fromEntries(
      Object.entries(msg.headers).map(([k, v]) => [k, Buffer.from(String(v))]),
    );
    expect(readDeadLetter(asConsumed)).toMatchObject({
      exception: 'DecodeError',
      code: 'DECODE_TRUNCATED',
      partition: 2,
      offset: source.offset,
      topic: source.topic,
    });
    expect(readDeadLetter({ trace: 'abc' })).toBeNull();
  });
});
