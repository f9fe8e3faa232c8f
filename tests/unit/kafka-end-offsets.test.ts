import { describe, expect, it } from 'vitest';
import { fetchEndOffsets, isLeadershipSettling } from '../../src/kafka/admin/end-offsets.ts';
import { BrokerError } from '../../src/errors.ts';

const notLeader = () =>
  Object.assign(new Error('This server is not the leader for that topic-partition'), {
    name: 'KafkaJSProtocolError',
    type: 'NOT_LEADER_FOR_PARTITION',
    retriable: true,
  });

/** A fake clock: sleep advances it, so patience is exercised without waiting. */
function fakeTime() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

describe('fetchEndOffsets', () => {
  it('retries while leadership settles, then returns the offsets by partition', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: async () => {
        calls += 1;
        if (calls < 4) throw new Error('retries exceeded', { cause: notLeader() });
        return [
          { partition: 0, offset: '12', high: '12', low: '0' },
          { partition: 1, offset: '7', high: '7', low: '0' },
        ];
      },
    };
    const ends = await fetchEndOffsets(admin, 't', fakeTime());
    expect(calls).toBe(4);
    expect([...ends]).toEqual([
      [0, 12n],
      [1, 7n],
    ]);
  });

  it('gives up after its patience with a typed error naming the topic and the last answer', async () => {
    const admin = { fetchTopicOffsets: async () => Promise.reject(notLeader()) };
    const err = await fetchEndOffsets(admin, 'orders', { ...fakeTime(), patienceMs: 5_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect(err.code).toBe('KAFKA_OFFSETS_UNAVAILABLE');
    expect(err.message).toMatch(/orders.*not the leader/);
  });

  it('throws other errors at once', async () => {
    let calls = 0;
    const admin = {
      fetchTopicOffsets: async () => {
        calls += 1;
        throw Object.assign(new Error('denied'), { type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false });
      },
    };
    await expect(fetchEndOffsets(admin, 't', fakeTime())).rejects.toThrow('denied');
    expect(calls).toBe(1);
  });

  it('recognises settling answers through kafkajs wrappers', () => {
    expect(isLeadershipSettling({ originalError: { type: 'LEADER_NOT_AVAILABLE' } })).toBe(true);
    expect(isLeadershipSettling({ type: 'INVALID_REQUEST', retriable: false })).toBe(false);
  });
});
