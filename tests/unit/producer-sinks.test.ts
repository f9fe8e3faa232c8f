import type { Consumer, Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import type { Outbound } from '../../src/operators/types.ts';
import { AtLeastOnceLaneSink } from '../../src/producer/at-least-once-sink.ts';
import { SinkError, isFencingError } from '../../src/producer/errors.ts';
import { nextOffset, toTopicMessages } from '../../src/producer/messages.ts';
import { transactionalIdFor } from '../../src/producer/transactional-id.ts';
import { TransactionalLaneSink } from '../../src/producer/transactional-sink.ts';
import { sourceRecord } from './operators-fixtures.ts';

const out = (offset: number, topic: string): Outbound => ({
  source: sourceRecord(offset),
  route: 'SFT',
  topic,
  key: `k${offset}`,
  value: Buffer.from('v'),
  headers: {},
});
const silent = createLogger('test', 'silent');

/** Records every call a transactional producer receives; failures are injected per step. */
class FakeTxnKafka {
  calls: string[] = [];
  committed: string | null = null;
  fail: Partial<Record<'sendBatch' | 'sendOffsets' | 'commit', unknown>> = {};
  producers = 0;

  producer(): Producer {
    this.producers += 1;
    let pendingOffset: string | null = null;
    return {
      connect: async () => void this.calls.push('connect'),
      disconnect: async () => void this.calls.push('disconnect'),
      transaction: async () => {
        let active = true;
        const step = (name: 'sendBatch' | 'sendOffsets' | 'commit') => {
          this.calls.push(name);
          const f = this.fail[name];
          if (f !== undefined) {
            delete this.fail[name];
            throw f;
          }
        };
        return {
          sendBatch: async (b: { topicMessages: { topic: string }[] }) => {
            step('sendBatch');
            this.calls.push(`topics ${b.topicMessages.map((t) => t.topic).join(',')}`);
          },
          sendOffsets: async (o: { topics: { partitions: { offset: string }[] }[] }) => {
            step('sendOffsets');
            pendingOffset = o.topics[0].partitions[0].offset;
          },
          commit: async () => {
            step('commit');
            active = false;
            this.committed = pendingOffset;
          },
          abort: async () => {
            this.calls.push('abort');
            active = false;
          },
          isActive: () => active,
        };
      },
    } as unknown as Producer;
  }
}

function openSink(k: FakeTxnKafka, maxAttempts = 3) {
  return TransactionalLaneSink.open({
    kafka: k as unknown as Kafka,
    transactionalId: 'tx',
    groupId: 'g',
    topic: 'in',
    partition: 0,
    transactionTimeoutMs: 2000,
    maxAttempts,
    committedOffset: async () => k.committed,
    stableOffset: async () => k.committed,
    log: silent,
  });
}

describe('messages and ids', () => {
  it('groups outputs per topic in order and commits one past the last input offset', () => {
    const batch = [out(7, 'sft'), out(8, 'rl'), out(9, 'sft')];
    expect(toTopicMessages(batch).map((t) => [t.topic, t.messages.map((m) => m.key)])).toEqual([
      ['sft', ['k7', 'k9']],
      ['rl', ['k8']],
    ]);
    expect(nextOffset(batch)).toBe('10');
    // 64-bit offsets stay exact (beyond Number.MAX_SAFE_INTEGER)
    const big = { ...out(0, 's'), source: { ...sourceRecord(0), offset: '9007199254740993' } };
    expect(nextOffset([big])).toBe('9007199254740994');
  });

  it('derives one transactional.id per group, topic and partition', () => {
    expect(transactionalIdFor('prism', 'g1', 'in', 3)).toBe('prism-g1-in-3');
  });

  it('recognises fencing in kafkajs errors, also wrapped', () => {
    expect(isFencingError({ type: 'INVALID_PRODUCER_EPOCH' })).toBe(true);
    expect(
      isFencingError({ name: 'KafkaJSNumberOfRetriesExceeded', originalError: { type: 'PRODUCER_FENCED' } }),
    ).toBe(true);
    expect(isFencingError(new Error('timeout'))).toBe(false);
  });
});

describe('TransactionalLaneSink', () => {
  it('initialises the producer id on open (fencing), then writes outputs and offsets in one transaction', async () => {
    const k = new FakeTxnKafka();
    const sink = await openSink(k);
    expect(k.calls).toEqual(['connect', 'abort']); // empty init transaction
    await sink.write([out(0, 'sft'), out(1, 'rl')]);
    expect(k.calls.slice(2)).toEqual(['sendBatch', 'topics sft,rl', 'sendOffsets', 'commit']);
    expect(k.committed).toBe('2');
    await sink.close();
    expect(k.calls.at(-1)).toBe('disconnect');
  });

  it('aborts the transaction when a step fails and retries on a fresh producer', async () => {
    const k = new FakeTxnKafka();
    const sink = await openSink(k);
    k.fail.sendOffsets = new Error('coordinator moved');
    await sink.write([out(0, 'sft')]);
    expect(k.calls).toContain('abort');
    expect(k.producers).toBe(2);
    expect(k.committed).toBe('1');
  });

  it('does not write a batch again when the failed attempt had committed after all', async () => {
    const k = new FakeTxnKafka();
    const sink = await openSink(k);
    await sink.write([out(0, 'sft')]);
    const writes = () => k.calls.filter((c) => c === 'sendBatch').length;
    const before = writes();
    // The attempt fails from the client's view, but the broker had applied it (lost response).
    k.committed = '2';
    k.fail.commit = Object.assign(new Error('EndTxn response lost'), { name: 'KafkaJSRequestTimeoutError' });
    await sink.write([out(1, 'sft')]);
    expect(writes()).toBe(before + 1); // written once, not re-sent after the re-init
  });

  it('turns fencing into PRODUCER_FENCED without retrying', async () => {
    const k = new FakeTxnKafka();
    const sink = await openSink(k);
    k.fail.sendBatch = { type: 'INVALID_PRODUCER_EPOCH', message: 'epoch is not valid' };
    await expect(sink.write([out(0, 'sft')])).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
    expect(k.producers).toBe(1);
  });

  it('commits nothing once aborted (rebalance or shutdown)', async () => {
    const k = new FakeTxnKafka();
    const sink = await openSink(k);
    sink.abort();
    await expect(sink.write([out(0, 'sft')])).rejects.toBeInstanceOf(SinkError);
    expect(k.calls).not.toContain('commit');
  });

  it("a partition's next sink initialises only after the revoked sink's re-initialisation settled", async () => {
    // Broker restart: the old lane's retry is still connecting when the partition's next lane opens. Had
    // the new sink initialised first, the old one's late InitProducerId would fence it (a stalled partition).
    const k = new FakeTxnKafka();
    const old = await openSink(k);
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const connect = k.producer.bind(k);
    k.producer = () => {
      const p = connect();
      if (k.producers === 2) {
        const original = p.connect.bind(p);
        p.connect = async () => {
          await gate;
          k.calls.push('old re-init');
          return original();
        };
      }
      return p;
    };
    k.fail.sendBatch = new Error('broker away');
    const oldWrite = old.write([out(0, 'sft')]).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500)); // the old sink is now blocked in its re-init
    old.abort();
    const next = openSink(k);
    await new Promise((r) => setTimeout(r, 50));
    expect(k.producers).toBe(2); // the new sink has not connected yet
    release();
    const sink = await next;
    expect(await oldWrite).toMatchObject({ code: 'LANE_ABORTED' });
    const calls = k.calls.join(' ');
    expect(calls.lastIndexOf('old re-init')).toBeLessThan(calls.lastIndexOf('connect'));
    await sink.write([out(0, 'sft')]);
    expect(k.committed).toBe('1');
  });

  it('gives up with SINK_WRITE_FAILED after maxAttempts', async () => {
    const k = new FakeTxnKafka();
    const sink = await openSink(k, 1);
    k.fail.sendBatch = new Error('broker down');
    await expect(sink.write([out(0, 'sft')])).rejects.toMatchObject({ code: 'SINK_WRITE_FAILED' });
  });
});

describe('AtLeastOnceLaneSink', () => {
  it('sends with acks=all first and only then commits the offset', async () => {
    const calls: string[] = [];
    const producer = {
      sendBatch: async (b: { acks: number }) => void calls.push(`send acks=${b.acks}`),
    } as unknown as Producer;
    const consumer = {
      commitOffsets: async (o: { offset: string }[]) => void calls.push(`commit ${o[0].offset}`),
    } as unknown as Consumer;
    const sink = new AtLeastOnceLaneSink({ producer, consumer, topic: 'in', partition: 0 });
    await sink.write([out(4, 'sft'), out(5, 'sft')]);
    expect(calls).toEqual(['send acks=-1', 'commit 6']);
  });

  it('reports a commit rejected after a rebalance as LANE_ABORTED', async () => {
    const producer = { sendBatch: async () => undefined } as unknown as Producer;
    const consumer = {
      commitOffsets: async () => {
        throw Object.assign(new Error('rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
      },
    } as unknown as Consumer;
    const sink = new AtLeastOnceLaneSink({ producer, consumer, topic: 'in', partition: 0 });
    await expect(sink.write([out(1, 'sft')])).rejects.toMatchObject({ code: 'LANE_ABORTED' });
  });
});
