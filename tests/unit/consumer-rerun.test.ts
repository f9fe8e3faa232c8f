import kafkajs, { type ConsumerRunConfig } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { ConsumerRerun } from '../../src/consumer/rerun.ts';
import { createLogger } from '../../src/log.ts';

const { KafkaJSConnectionError, KafkaJSProtocolError } = kafkajs;
const config: ConsumerRunConfig = { autoCommit: false };

function setup(run: () => Promise<void>, stopping = () => false) {
  const fatal: Error[] = [];
  const runs: ConsumerRunConfig[] = [];
  const rerun = new ConsumerRerun({
    consumer: {
      run: async (c) => {
        runs.push(c ?? {});
        await run();
      },
    },
    config: () => config,
    delayMs: 5,
    log: createLogger('test', 'silent'),
    stopping,
    onFatal: (e) => void fatal.push(e),
  });
  return { rerun, fatal, runs };
}

describe('ConsumerRerun', () => {
  it('leaves retriable crashes to kafkajs and refusals to the caller', async () => {
    const { rerun, runs } = setup(async () => undefined);
    expect(rerun.offer(new KafkaJSConnectionError('x'), true), 'kafkajs restarts it').toBe(true);
    expect(rerun.offer(new KafkaJSProtocolError('Not authorized'), false)).toBe(false);
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toEqual([]);
  });

  it('runs the consumer again with its first run config when no broker answered', async () => {
    const { rerun, runs, fatal } = setup(async () => undefined);
    expect(rerun.offer(new KafkaJSConnectionError('connect ECONNREFUSED'), false)).toBe(true);
    await vi.waitFor(() => expect(runs).toEqual([config]));
    expect(fatal).toEqual([]);
  });

  it('reports a run that throws as fatal', async () => {
    const { rerun, fatal } = setup(async () => {
      throw new Error('Cannot run: closed');
    });
    rerun.offer(new KafkaJSConnectionError('x'), false);
    await vi.waitFor(() => expect(fatal.map((e) => e.message)).toEqual(['Cannot run: closed']));
  });

  it('does nothing once its owner is stopping, even with a rerun already scheduled', async () => {
    let stopping = false;
    const { rerun, runs } = setup(
      async () => undefined,
      () => stopping,
    );
    expect(rerun.offer(new KafkaJSConnectionError('x'), false)).toBe(true);
    stopping = true;
    expect(rerun.offer(new KafkaJSConnectionError('x'), false)).toBe(false);
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toEqual([]);
  });
});
