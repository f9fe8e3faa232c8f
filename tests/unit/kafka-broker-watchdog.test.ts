import { afterEach, describe, expect, it, vi } from 'vitest';
import { BrokerError } from '../../src/errors.ts';
import { startBrokerWatchdog } from '../../src/kafka/watchdog.ts';
import { isBrokerUnavailableError } from '../../src/producer/errors.ts';
import { RetryingTrainerSink } from '../../src/trainer/kafka/retrying-sink.ts';
import { log } from '../../src/log.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('broker watchdog (kafka.unavailablePatienceMs)', () => {
  it('stays quiet while the broker answers and fires once after the patience without answers', async () => {
    vi.useFakeTimers();
    let lastOk = Date.now();
    const fired: BrokerError[] = [];
    const w = startBrokerWatchdog({
      lastOkAt: () => lastOk,
      patienceMs: 5000,
      onExpired: (e) => fired.push(e),
    });
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      lastOk = Date.now();
    }
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(7000);
    expect(fired).toHaveLength(1);
    expect(fired[0].code).toBe('BROKER_UNAVAILABLE');
    expect(fired[0].message).toMatch(/unavailablePatienceMs=5000/);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toHaveLength(1);
    w.stop();
  });
});

describe('broker watchdog probe (an evicted or busy member is not a broker outage)', () => {
  it('never fires while the broker answers the probe, however silent the clients are', async () => {
    vi.useFakeTimers();
    const fired: BrokerError[] = [];
    let probes = 0;
    let brokerUp = true;
    const w = startBrokerWatchdog({
      lastOkAt: () => 0, // the consumer heard nothing at all (evicted, training for minutes)
      patienceMs: 5000,
      probe: async () => {
        probes += 1;
        if (!brokerUp) throw new Error('ECONNREFUSED');
      },
      onExpired: (e) => fired.push(e),
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toEqual([]);
    expect(probes).toBeGreaterThan(1);
    brokerUp = false; // now it is really gone: the patience runs out
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fired).toHaveLength(1);
    expect(fired[0].code).toBe('BROKER_UNAVAILABLE');
    w.stop();
  });
});

describe('isBrokerUnavailableError', () => {
  it('recognises kafkajs connection failures, also wrapped, and not schema or fencing errors', () => {
    const conn = Object.assign(new Error('Connection error: connect ECONNREFUSED'), {
      name: 'KafkaJSConnectionError',
    });
    const wrapped = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNonRetriableError',
      originalError: conn,
    });
    expect(isBrokerUnavailableError(conn)).toBe(true);
    expect(isBrokerUnavailableError(wrapped)).toBe(true);
    expect(isBrokerUnavailableError(new Error('schema mismatch'))).toBe(false);
  });
});

describe('RetryingTrainerSink', () => {
  it('retries a commit while the broker is away and succeeds once it is back', async () => {
    let calls = 0;
    const conn = Object.assign(new Error('ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    const sink = new RetryingTrainerSink(
      {
        deadLetter: async () => undefined,
        publish: async () => undefined,
        commit: async () => {
          calls += 1;
          if (calls < 3) throw conn;
        },
      },
      { patienceMs: 60_000, log: log.child({ test: true }) },
    );
    await sink.commit([{ topic: 't', partition: 0, offset: '5', doneAbove: [] }]);
    expect(calls).toBe(3);
  });

  it('skips (does not fail on) an offset commit whose group generation ended during the outage', async () => {
    const evicted = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNonRetriableError',
      originalError: Object.assign(new Error('The coordinator is not aware of this member'), {
        type: 'UNKNOWN_MEMBER_ID',
      }),
    });
    const sink = new RetryingTrainerSink(
      {
        deadLetter: async () => undefined,
        publish: async () => undefined,
        commit: async () => {
          throw evicted;
        },
      },
      { patienceMs: 60_000, log: log.child({ test: true }) },
    );
    await expect(sink.commit([{ topic: 't', partition: 0, offset: '5', doneAbove: [] }])).resolves.toBe(
      undefined,
    );
  });

  it('does not retry an error that is not about the broker being away', async () => {
    const sink = new RetryingTrainerSink(
      {
        deadLetter: async () => {
          throw new Error('record too large');
        },
        publish: async () => undefined,
        commit: async () => undefined,
      },
      { patienceMs: 60_000, log: log.child({ test: true }) },
    );
    await expect(sink.deadLetter([])).rejects.toThrow('record too large');
  });
});
