import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { testBrokers, uniqueName } from './helpers/kafka.ts';
import {
  ROOT,
  audit,
  createOutputs,
  exactlyOnceViolations,
  runArgs,
  startCli,
  removeTempDirs,
  tempDir,
  waitUntilConsumed,
  writeInput,
  writeText,
} from './run-fixtures.ts';

afterAll(() => removeTempDirs());

/** Runs `prism <args>` to completion; never throws on a non-zero exit. */
async function prism(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, 'bin', 'prism.mjs'), ...args],
      { cwd: ROOT, env: { ...process.env, PRISM_LOG_LEVEL: 'warn' } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('prism run configuration errors', () => {
  it('exits 2 and names the field for a bad flag value', async () => {
    const r = await prism([
      'run',
      '--set',
      'consumer.highWatermark=lots',
      '--brokers',
      testBrokers().join(','),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/consumer\.highWatermark/);
    expect(r.stderr).toMatch(/CONFIG_INVALID/);
  });

  it('exits 2 and names the field and file for a bad YAML config', async () => {
    const file = writeText(
      tempDir('prism-bad-config-'),
      'prism.yaml',
      'arbitration:\n  policy: threshold\nconsumer:\n  groupId: x\n',
    );
    const r = await prism(['run', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/arbitration\.threshold: required when policy is "threshold"/);
  });

  it('exits 2 naming topics.trajectories when the input topic does not exist', async () => {
    const r = await prism([
      'run',
      '--brokers',
      testBrokers().join(','),
      '--set',
      `topics.trajectories=${uniqueName('missing')}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/topics\.trajectories: topic ".*" does not exist/);
  });

  it('--describe prints the topology the config would run', async () => {
    const r = await prism([
      'run',
      '--describe',
      '--scorer',
      'deterministic',
      '--policy',
      'quantile',
      '--quantile',
      '0.7',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Source: prism\.trajectories/);
    expect(r.stdout).toMatch(/arbitrate\s+gini > q0\.7/);
    expect(r.stdout).toMatch(/Sink: prism\.sft \| prism\.rl \| prism\.dlq/);
  });
});

describe('prism run with the real tfjs scorer', () => {
  it('scores a few dozen trajectories with the tiny PRISM probe model through the same exactly-once path', async () => {
    const modelDir = join(tempDir('prism-tiny-model-'), 'tiny');
    const init = await prism(['model', 'init', '--preset', 'tiny', '--out', modelDir]);
    expect(init.code, init.stderr).toBe(0);

    const input = await writeInput('tfjs-in', 36, { partitions: 1, poison: true });
    const out = await createOutputs('tfjs');
    const group = uniqueName('tfjs-group');
    const args = runArgs(input, out, group, {
      'scorer.kind': 'prism',
      'scorer.maxSeqLen': 128,
      'scorer.batchSize': 8,
      'arbitration.warmup': 12,
      'arbitration.window': 64,
      'batch.size': 12,
      'batch.maxWaitMs': 200,
    });
    const cli = startCli([...args, '--model', modelDir]);
    try {
      await waitUntilConsumed(group, input.topic, 240_000);
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect((await cli.exited).code, cli.stderr().slice(-3000)).toBe(0);

    const a = await audit(out);
    expect(exactlyOnceViolations(input, a)).toEqual([]);
    expect(a.sft.length + a.rl.length).toBe(36);
    expect(a.rl.length).toBeGreaterThan(0);
    expect(a.sft.length).toBeGreaterThan(0);
    const codec = new RecordCodec('scored-trajectory', { registry: openLocalRegistry() });
    const scored = await codec.decode(a.rl[0].value);
    expect(scored.prism.probe_model_id).toBe('tiny');
    expect(scored.prism.probe_model_version).toMatch(/^sha-[0-9a-f]{12}$/);
    expect(scored.prism.gini).toBeGreaterThan(0);
    expect(scored.prism.gini).toBeLessThan(1);
    expect(scored.prism.gini > scored.prism.threshold).toBe(true);
  });
});
