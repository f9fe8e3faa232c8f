import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { Lifecycle } from '../../src/runtime/lifecycle.ts';
import { runtimeReadiness } from '../../src/runtime/readiness.ts';

const log = createLogger('test', 'silent');

function recording(shutdown: (cause: unknown) => Promise<void> = async () => undefined) {
  const calls: unknown[] = [];
  const lifecycle = new Lifecycle({
    log,
    failMessage: 'failed',
    shutdown: async (cause) => {
      calls.push(cause);
      await shutdown(cause);
    },
  });
  return { lifecycle, calls };
}

describe('Lifecycle', () => {
  it('stop() shuts down once and resolves done; a second stop waits for the first', async () => {
    const { lifecycle, calls } = recording();
    await Promise.all([lifecycle.stop(), lifecycle.stop()]);
    await expect(lifecycle.done).resolves.toBeUndefined();
    expect(calls).toEqual([undefined]);
    expect(lifecycle.stopping).toBe(true);
    expect(lifecycle.failed).toBe(false);
  });

  it('fail() aborts first, shuts down with the cause and rejects done; later failures are ignored', async () => {
    const order: string[] = [];
    const lifecycle = new Lifecycle({
      log,
      failMessage: 'failed',
      onFail: () => order.push('abort'),
      shutdown: async (cause) => {
        order.push(`shutdown:${(cause as Error).message}`);
      },
    });
    const boom = new Error('boom');
    await lifecycle.fail(boom);
    await lifecycle.fail(new Error('second'));
    await expect(lifecycle.done).rejects.toBe(boom);
    expect(order).toEqual(['abort', 'shutdown:boom']);
    expect(lifecycle.failed).toBe(true);
    expect(lifecycle.error).toBe(boom);
    // stop() after a failure does not shut down again and does not throw.
    await lifecycle.stop();
    expect(order).toHaveLength(2);
  });

  it('a graceful shutdown that throws rejects done with that error', async () => {
    const broken = new Error('checkpoint failed');
    const { lifecycle } = recording(async () => {
      throw broken;
    });
    await lifecycle.stop();
    await expect(lifecycle.done).rejects.toBe(broken);
    expect(lifecycle.failed).toBe(true);
  });

  it('bounds a hanging shutdown after a failure by failShutdownTimeoutMs', async () => {
    const lifecycle = new Lifecycle({
      log,
      failMessage: 'failed',
      shutdown: () => new Promise<void>(() => undefined),
      failShutdownTimeoutMs: 20,
    });
    await lifecycle.fail(new Error('broker gone'));
    await expect(lifecycle.done).rejects.toThrow('broker gone');
  });

  it('the broker watchdog fails the runtime when the broker stays silent', async () => {
    const { lifecycle, calls } = recording();
    lifecycle.watchBroker(() => 0, 20);
    await expect(lifecycle.done).rejects.toMatchObject({ code: 'BROKER_UNAVAILABLE' });
    expect(calls).toHaveLength(1);
  });
});

describe('runtimeReadiness', () => {
  it('lists every reason, with the runtime wording', () => {
    const r = runtimeReadiness({ failed: true, joined: false, lastBrokerOkAt: 1000 }, 9000, 5000, {
      failed: 'trainer failed',
      notJoined: 'consumer group not joined yet',
    });
    expect(r).toEqual({
      ready: false,
      reasons: ['trainer failed', 'consumer group not joined yet', 'broker unreachable for 8 s'],
    });
  });

  it('without a noBrokerYet wording, no broker response yet is not a reason by itself', () => {
    const wording = { failed: 'x', notJoined: 'y' };
    expect(runtimeReadiness({ joined: true, lastBrokerOkAt: 0 }, 10, 5000, wording).ready).toBe(true);
    expect(runtimeReadiness({ joined: true, lastBrokerOkAt: 0 }, 10, 5000).reasons).toEqual([
      'no broker response yet',
    ]);
  });
});
