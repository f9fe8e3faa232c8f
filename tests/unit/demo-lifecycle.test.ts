import { describe, expect, it } from 'vitest';
import { DemoError } from '../../src/demo/errors.ts';
import { Teardown, waitUntil } from '../../src/demo/lifecycle.ts';
import { createLogger } from '../../src/log.ts';

const log = createLogger('test', 'silent');

describe('demo teardown', () => {
  it('stops trainers, then the arbitrator, then the output reader, then the broker, whatever the registration order', async () => {
    const order: string[] = [];
    const t = new Teardown(log, () => undefined);
    const step = (name: string) => async () => {
      order.push(name);
    };
    t.add(4, 'broker', step('broker'));
    t.add(2, 'arbitrator', step('arbitrator'));
    t.add(1, 'SFT trainer', step('sft'));
    t.add(3, 'output reader', step('reader'));
    t.add(1, 'RL trainer', step('rl'));
    expect(await t.runAll()).toEqual([]);
    expect(order.slice(0, 2).sort()).toEqual(['rl', 'sft']);
    expect(order.slice(2)).toEqual(['arbitrator', 'reader', 'broker']);
  });

  it('waits for a start still in flight before stopping what it started', async () => {
    const events: string[] = [];
    let finishStart: () => void = () => undefined;
    const starting = new Promise<string>((resolve) => {
      finishStart = () => {
        events.push('started');
        resolve('broker');
      };
    });
    const t = new Teardown(log, () => undefined);
    t.add(4, 'broker', async () => events.push(`stopped ${await starting}`));
    const done = t.runAll();
    setTimeout(finishStart, 20);
    await done;
    expect(events).toEqual(['started', 'stopped broker']);
  });

  it('keeps stopping the rest when one step fails, runs once, and reports the failure', async () => {
    const said: string[] = [];
    const t = new Teardown(log, (l) => said.push(l));
    let brokerStops = 0;
    t.add(1, 'SFT trainer', () => Promise.reject(new Error('boom')));
    t.add(4, 'broker', async () => {
      brokerStops++;
    });
    const [a, b] = await Promise.all([t.runAll(), t.runAll()]);
    expect(a).toEqual(['SFT trainer: boom']);
    expect(b).toBe(a);
    expect(brokerStops).toBe(1);
    expect(said.join('\n')).toContain('could not stop SFT trainer cleanly: boom');
  });

  it('gives up on a step that hangs after its timeout and still stops the broker', async () => {
    const t = new Teardown(log, () => undefined, 50);
    let brokerStopped = false;
    t.add(2, 'arbitrator', () => new Promise(() => undefined));
    t.add(4, 'broker', async () => {
      brokerStopped = true;
    });
    expect(await t.runAll()).toEqual(['arbitrator: did not stop within 0.05 s']);
    expect(brokerStopped).toBe(true);
  });
});

describe('demo waitUntil', () => {
  it('resolves once the condition holds', async () => {
    let n = 0;
    await waitUntil(
      'count',
      () => ++n >= 3,
      () => n,
      1000,
      1,
    );
    expect(n).toBe(3);
  });

  it('fails with DEMO_STALLED when progress stops moving', async () => {
    const err = await waitUntil(
      'routing',
      () => false,
      () => 7,
      30,
      5,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DemoError);
    expect((err as DemoError).code).toBe('DEMO_STALLED');
    expect((err as DemoError).message).toContain('routing');
  });
});
