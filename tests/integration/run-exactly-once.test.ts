import { describe, expect, it } from 'vitest';
import { readDeadLetter } from '../../src/schemas/dead-letter.ts';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { uniqueName } from './helpers/kafka.ts';
import {
  POISON,
  audit,
  createOutputs,
  exactlyOnceViolations,
  runArgs,
  startCli,
  waitUntilConsumed,
  writeInput,
} from './run-fixtures.ts';

describe('prism run (child process, exactly-once, median)', () => {
  it('routes 5,000 trajectories exactly once across sft+rl+dlq, ~50% RL, poison to the DLQ, and exits 0 on SIGTERM', async () => {
    const input = await writeInput('eo-in', 5000, { partitions: 3 });
    const out = await createOutputs('eo');
    const group = uniqueName('eo-group');
    const cli = startCli(runArgs(input, out, group));
    try {
      await waitUntilConsumed(group, input.topic);
    } finally {
      cli.child.kill('SIGTERM');
    }
    const { code } = await cli.exited;
    expect(code, cli.stderr().slice(-3000)).toBe(0);
    expect(cli.stderr()).toMatch(/stopped cleanly/);

    const a = await audit(out);
    expect(exactlyOnceViolations(input, a)).toEqual([]);
    expect(a.sft.length + a.rl.length + a.dlq.length).toBe(input.keys.length);
    console.info(
      `median: realised RL share ${(100 * a.rlShare).toFixed(2)}% of ${a.sft.length + a.rl.length}`,
    );
    // median policy: 50 % target, ±5 points
    expect(a.rlShare).toBeGreaterThan(0.45);
    expect(a.rlShare).toBeLessThan(0.55);

    // Poison records: raw value kept, KIP-1034 headers and our reason code.
    expect(a.dlq.map((r) => r.key).sort()).toEqual([...input.poisonKeys].sort());
    for (const p of POISON) {
      const rec = a.dlq.find((r) => r.key === p.key);
      const info = readDeadLetter(rec?.headers);
      expect(info, p.key).toMatchObject({ code: p.code, topic: input.topic, exception: 'DecodeError' });
      expect(Number.isInteger(info?.partition)).toBe(true);
      expect(info?.offset).toMatch(/^\d+$/);
    }

    // Outputs are Avro ScoredTrajectory records carrying the decision and the probe model.
    const codec = new RecordCodec('scored-trajectory', { registry: openLocalRegistry() });
    for (const [topic, route] of [
      [out.rl, 'RL'],
      [out.sft, 'SFT'],
    ] as const) {
      const rec = (topic === out.rl ? a.rl : a.sft)[0];
      const scored = await codec.decode(rec.value);
      expect(rec.key).toBe(scored.trajectory.id);
      expect(scored.prism).toMatchObject({
        route,
        metric: 'gini',
        probe_model_id: 'deterministic',
        probe_model_version: '1',
        source_topic: input.topic,
      });
      expect(
        scored.prism.route === 'RL'
          ? scored.prism.gini > scored.prism.threshold
          : scored.prism.gini <= scored.prism.threshold,
      ).toBe(true);
      expect(rec.headers).toMatchObject({
        'prism.route': route,
        'prism.metric': 'gini',
        'prism.policy': 'median',
      });
    }
  });
});
