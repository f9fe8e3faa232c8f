import { Subject, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Arbitrator } from '../../src/arbitration/arbitrator.ts';
import { thresholdPolicy } from '../../src/arbitration/policy.ts';
import { loadConfig } from '../../src/config/load.ts';
import { PrismError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { PipelineMetrics } from '../../src/metrics/pipeline-metrics.ts';
import type { Batch, Outbound, SourceRecord } from '../../src/operators/types.ts';
import type { LaneSink } from '../../src/producer/types.ts';
import { DeterministicScorer, deterministicScores } from '../../src/scorer/deterministic.ts';
import { buildTopology } from '../../streams/topology.ts';
import { sourceRecord, trajectory } from './operators-fixtures.ts';

function topologyUnderTest(written: Batch<Outbound>[]) {
  const config = loadConfig({ env: {}, overrides: [{ path: 'batch.size', value: '4', source: 'test' }] });
  const topology = buildTopology({
    config,
    scorer: new DeterministicScorer(),
    arbitrator: new Arbitrator({ policy: thresholdPolicy(0.5), metric: 'gini', windowSize: 8, warmup: 1 }),
    decodeValue: (value) => {
      if (value === null) throw new PrismError('DECODE_EMPTY', 'empty');
      return trajectory(value.toString());
    },
    isFatalDecodeError: () => false,
    encodeScored: (_topic, r) => Buffer.from(JSON.stringify(r)),
    deadLetter: (f) => ({
      key: f.source.key,
      value: f.source.value,
      headers: { 'prism.error.code': f.error.code },
    }),
    metrics: new PipelineMetrics({}, { defaultMetrics: false }),
    log: createLogger('test', 'silent'),
  });
  const sink: LaneSink = {
    write: async (b) => void written.push(b),
    abort: () => undefined,
    close: async () => undefined,
  };
  return { topology, sink };
}

describe('topology', () => {
  it('runs the declared chain: every record gets exactly one output, in order, routed by the threshold', async () => {
    const written: Batch<Outbound>[] = [];
    const { topology, sink } = topologyUnderTest(written);
    const input = new Subject<SourceRecord>();
    const done = lastValueFrom(topology.lane(input, sink).pipe(toArray()));
    const ids = Array.from({ length: 10 }, (_, i) => `traj-${i}`);
    ids.forEach((id, i) => input.next(sourceRecord(i, id)));
    input.next(sourceRecord(10, null)); // poison
    input.complete();
    const committed = await done;

    const outputs = written.flat();
    expect(outputs.map((o) => o.source.offset)).toEqual(Array.from({ length: 11 }, (_, i) => String(i)));
    expect(written.every((b) => b.length <= 4)).toBe(true);
    expect(committed).toHaveLength(written.length);
    for (const o of outputs.slice(0, 10)) {
      const expected = deterministicScores(trajectory(String(o.key))).gini > 0.5 ? 'RL' : 'SFT';
      expect(o.route).toBe(expected);
      expect(o.topic).toBe(expected === 'RL' ? 'prism.rl' : 'prism.sft');
    }
    expect(outputs[10]).toMatchObject({ route: 'DLQ', topic: 'prism.dlq', reason: 'DECODE_EMPTY' });
  });

  it('describes the same stages it runs, from source to sinks', () => {
    const { topology } = topologyUnderTest([]);
    const text = topology.describe();
    expect(text.split('\n').map((l) => l.trim().split(/\s+/)[1])).toEqual([
      'prism.trajectories',
      'decode',
      'microBatch',
      'score',
      'arbitrate',
      'route',
      'prism.sft',
      'arbitration.state',
    ]);
    expect(text).toMatch(/one transaction per micro-batch: outputs \+ scores \+ input offset/);
    expect(text).toMatch(/State: arbitration.state kafka — window changelog prism.scores/);
    expect(topology.scores).toBe('prism.scores');
    expect(topology.source).toEqual({ topic: 'prism.trajectories', groupId: 'prism-stream' });
    expect(topology.sinks).toEqual({ sft: 'prism.sft', rl: 'prism.rl', dlq: 'prism.dlq' });
  });
});
