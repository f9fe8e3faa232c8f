import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { openPrismScorer } from '../../src/scorer-host/open.ts';
import type { ScoreOutcome } from '../../src/scorer/types.ts';
import { WorkerScorer } from '../../src/scorer-host/worker/worker-scorer.ts';
import { sampleTrajectories, textTrajectory, tokenTrajectory } from './scorer-fixtures.ts';

const quiet = pino({ level: 'silent' });
const preset = { preset: 'tiny' as const, arch: 'llama' as const, seed: 3 };
const config = { backend: 'cpu' as const, path: 'batched' as const, emitNorms: true, maxSeqLen: 128 };

function norms(o: ScoreOutcome | undefined): number[] {
  if (o === undefined || !o.ok) throw new Error(`expected a score, got ${JSON.stringify(o)}`);
  return o.scores.norms ?? [];
}

describe('WorkerScorer (scorer in a worker thread)', () => {
  let scorer: WorkerScorer;
  beforeAll(async () => {
    scorer = await WorkerScorer.open({ config, preset }, { logger: quiet });
  });
  afterAll(() => scorer.dispose());

  it('scores like the in-process scorer and returns bad records as typed outcomes', async () => {
    const trajs = [...sampleTrajectories(4), tokenTrajectory('oov', [1, 2], [3, 99_999])];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const remote = await scorer.scoreBatch(trajs);
    clearInterval(timer);
    const { scorer: local } = await openPrismScorer(config, { preset, logger: quiet });
    const inProcess = await local.scoreBatch(trajs);
    local.dispose();
    expect(scorer.backend).toBe('cpu');
    expect(scorer.probeModelId).toBe(local.probeModelId);
    for (let i = 0; i < 4; i++) {
      const a = norms(remote[i]);
      const b = norms(inProcess[i]);
      expect(a).toHaveLength(28);
      a.forEach((v, j) => expect(Math.abs(v - b[j])).toBeLessThanOrEqual(1e-6 * Math.max(1, b[j])));
    }
    const bad = remote[4];
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe('TOKEN_OUT_OF_VOCAB');
      expect(bad.error.name).toBe('SequenceError');
    }
    // The main thread kept running timers while the worker computed.
    expect(ticks).toBeGreaterThan(0);
    expect(scorer.liveTensors()).toBeGreaterThan(0);
  });

  it('fails the micro-batch in flight when the worker dies, then restarts it', async () => {
    const crashing = await WorkerScorer.open({ config, preset, crashOnId: 'boom' }, { logger: quiet });
    try {
      await expect(crashing.scoreBatch([textTrajectory('boom', 'a', 'b')])).rejects.toMatchObject({
        code: 'WORKER_CRASHED',
      });
      const again = await crashing.scoreBatch(sampleTrajectories(2));
      expect(crashing.restarts).toBe(1);
      expect(again.every((o) => o.ok)).toBe(true);
    } finally {
      crashing.dispose();
    }
  });

  it('reports a start-up failure as a typed error', async () => {
    await expect(
      WorkerScorer.open({ config: { ...config, modelDir: '/nonexistent/model' } }, { logger: quiet }),
    ).rejects.toMatchObject({ name: expect.any(String), code: expect.stringMatching(/^[A-Z_]+$/) });
  });
});
