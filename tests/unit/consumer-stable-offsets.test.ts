import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../src/consumer/kafka-wire.ts';
import { decodeOffsetFetchV7, encodeOffsetFetchV7 } from '../../src/consumer/stable-offsets.ts';

/** An OffsetFetch v7 response body (after the size prefix) for one topic/partition. */
function response(offset: bigint, partitionError: number, topError = 0): Buffer {
  const w = new Writer()
    .int32(2) // correlation id
    .emptyTags()
    .int32(0) // throttle
    .compactArray(['in'], (t, name) => {
      t.compactString(name)
        .compactArray([0], (p, index) => {
          p.int32(index).int64(offset).int32(-1).compactString('').int16(partitionError).emptyTags();
        })
        .emptyTags();
    })
    .int16(topError)
    .emptyTags();
  return w.frame().subarray(4);
}

describe('OffsetFetch v7 with require_stable', () => {
  it('encodes the group, the one partition and require_stable = true', () => {
    const frame = encodeOffsetFetchV7('cid', 7, 'group', 'in', 3);
    const r = new Reader(frame);
    expect(r.int32()).toBe(frame.length - 4);
    expect([r.int16(), r.int16(), r.int32(), r.string()]).toEqual([9, 7, 7, 'cid']);
    r.skipTags();
    expect(r.compactString()).toBe('group');
    const topics = r.compactArray((t) => {
      const name = t.compactString();
      const parts = t.compactArray((p) => p.int32());
      t.skipTags();
      return [name, parts];
    });
    expect(topics).toEqual([['in', [3]]]);
    expect(r.int8()).toBe(1);
  });

  it('reads a committed offset, "none" as null, and UNSTABLE_OFFSET_COMMIT as retry', () => {
    expect(decodeOffsetFetchV7(response(42n, 0), 'in', 0)).toEqual({ kind: 'ok', offset: '42' });
    expect(decodeOffsetFetchV7(response(-1n, 0), 'in', 0)).toEqual({ kind: 'ok', offset: null });
    expect(decodeOffsetFetchV7(response(0n, 88), 'in', 0)).toEqual({ kind: 'retry', code: 88 });
    expect(decodeOffsetFetchV7(response(0n, 0, 15), 'in', 0)).toEqual({ kind: 'retry', code: 15 });
    expect(() => decodeOffsetFetchV7(response(0n, 30), 'in', 0)).toThrow(/error code 30/);
  });

  it('round-trips unsigned varints', () => {
    for (const n of [0, 1, 127, 128, 300, 2 ** 21, 2 ** 28 + 5])
      expect(new Reader(new Writer().uvarint(n).frame().subarray(4)).uvarint()).toBe(n);
  });
});
