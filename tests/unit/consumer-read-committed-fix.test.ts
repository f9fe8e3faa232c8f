import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

interface Msg {
  offset: string;
  key: Buffer | null;
  isControlRecord: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}
type Filter = (a: {
  messages: Msg[];
  abortedTransactions: { producerId: string; firstOffset: string }[];
}) => Msg[];

const fix = require('../../src/consumer/read-committed-fix.cjs') as { filterAbortedMessages: Filter };
const original = require('kafkajs/src/consumer/filterAbortedMessages.js') as Filter;

const data = (offset: number, producerId: string): Msg => ({
  offset: String(offset),
  key: Buffer.from('k'),
  isControlRecord: false,
  batchContext: { producerId, inTransaction: true },
});
const abort = (offset: number, producerId: string): Msg => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, 0]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

/**
 * Two transactional producers interleave in one partition and are aborted in the opposite order
 * of their first offsets (the broker lists aborted transactions by abort-marker order).
 */
const messages = [
  data(0, 'B'),
  data(1, 'A'),
  data(2, 'B'),
  data(3, 'A'),
  abort(4, 'A'),
  abort(5, 'B'),
  data(6, 'C'),
];
const abortedTransactions = [
  { producerId: 'A', firstOffset: '1' },
  { producerId: 'B', firstOffset: '0' },
];

describe('read_committed aborted-transaction filter', () => {
  it('drops every record of aborted transactions even when the broker lists them out of first-offset order', () => {
    const kept = fix
      .filterAbortedMessages({ messages, abortedTransactions })
      .filter((m) => !m.isControlRecord);
    expect(kept.map((m) => m.offset)).toEqual(['6']);
  });

  it('keeps records of a later committed transaction of the same producer', () => {
    const msgs = [data(0, 'A'), abort(1, 'A'), data(2, 'A')];
    const kept = fix
      .filterAbortedMessages({ messages: msgs, abortedTransactions: [{ producerId: 'A', firstOffset: '0' }] })
      .filter((m) => !m.isControlRecord);
    expect(kept.map((m) => m.offset)).toEqual(['2']);
  });

  it('does not mistake a user record whose key looks like an abort marker for one', () => {
    const fake: Msg = { ...data(1, 'A'), key: Buffer.from([0, 0, 0, 0]) };
    const kept = fix.filterAbortedMessages({
      messages: [data(0, 'A'), fake, data(2, 'A')],
      abortedTransactions: [{ producerId: 'A', firstOffset: '0' }],
    });
    expect(kept).toEqual([]);
  });

  it('documents the kafkajs 2.2.4 bug it replaces: aborted records leak to read_committed', () => {
    if (original === fix.filterAbortedMessages) return; // already patched in this process
    const leaked = original({ messages, abortedTransactions }).filter((m) => !m.isControlRecord);
    expect(leaked.map((m) => m.offset)).toContain('0');
  });
});
