import { describe, expect, it } from 'vitest';
import type { Outbound } from '../../src/operators/types.ts';
import { toSendChunks } from '../../src/producer/messages.ts';
import { sourceRecord } from './operators-fixtures.ts';

const out = (i: number, bytes: number, topic = 'sft'): Outbound =>
  ({
    topic,
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(bytes),
    headers: {},
    source: sourceRecord(i),
  }) as Outbound;

describe('toSendChunks (record batches under max.message.bytes)', () => {
  it('splits a micro-batch of large records into calls of at most maxBytes, a larger record alone, order kept', () => {
    const batch = [out(0, 400), out(1, 400), out(2, 1500, 'dlq'), out(3, 100), out(4, 100)];
    const chunks = toSendChunks(batch, 1000);
    expect(chunks.map((c) => c.flatMap((t) => t.messages.map((m) => String(m.key))))).toEqual([
      ['k0', 'k1'],
      ['k2'],
      ['k3', 'k4'],
    ]);
  });

  it('keeps a small batch in one call', () => {
    expect(toSendChunks([out(0, 10), out(1, 10, 'rl')])).toHaveLength(1);
  });
});
