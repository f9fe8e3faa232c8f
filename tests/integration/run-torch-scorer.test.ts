/**
 * `prism run --scorer torch` spawns the PyTorch scorer service (CPU, fp32) on a tiny model and routes
 * 500 trajectories exactly once, with the service killed (SIGKILL) once mid-stream: the run respawns
 * it and goes on. Needs python3 with torch and transformers (CI installs them).
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { testKafka, uniqueName } from './helpers/kafka.ts';
import {
  ROOT,
  audit,
  committedTotal,
  createOutputs,
  diagnostics,
  endTotal,
  exactlyOnceViolations,
  removeTempDirs,
  runArgs,
  startCli,
  tempDir,
  trajectory,
  waitFor,
  waitUntilConsumed,
  writeInput,
  type InputTopic,
} from './run-fixtures.ts';

const PYTHON = process.env.PRISM_TEST_PYTHON ?? 'python3';

function requirePython(): void {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, transformers, safetensors'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `${PYTHON} cannot import torch/transformers/safetensors, which scorer.kind torch needs: ` +
        `python3 -m pip install './clients/python[hf]'`,
      { cause: err },
    );
  }
}

async function append(topic: string, from: number, to: number): Promise<string[]> {
  const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });
  const messages = [];
  const keys: string[] = [];
  for (let i = from; i < to; i++) {
    const id = `traj-${i}`;
    messages.push({ key: id, value: await codec.encode(trajectory(id, i)) });
    keys.push(id);
  }
  const producer = testKafka('prism-test-torch').producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
  return keys;
}

/** Pids of the scorer services `prism run` logged as spawned, in order. */
function spawnedPids(stderr: string): number[] {
  return stderr
    .split('\n')
    .filter((l) => l.includes('torch scorer service spawned'))
    .map((l) => (JSON.parse(l) as { servicePid: number }).servicePid);
}

afterAll(() => removeTempDirs());

describe('prism run --scorer torch', () => {
  it('routes 500 records exactly once with the spawned service killed once mid-stream', async () => {
    requirePython();
    const modelDir = join(tempDir('torch-run-'), 'tiny');
    await promisify(execFile)(process.execPath, [
      join(ROOT, 'bin', 'prism.mjs'),
      'model',
      'init',
      '--preset',
      'tiny',
      '--seed',
      '3',
      '--out',
      modelDir,
    ]);
    // First half now (with the poison records), second half after the kill: the kill is mid-stream.
    const first = await writeInput('torch-in', 250, { partitions: 3 });
    const out = await createOutputs('torch');
    const group = uniqueName('torch-group');
    const base = runArgs(first, out, group, {
      'arbitration.warmup': 50,
      'batch.size': 16,
      'scorer.torch.python': PYTHON,
      'scorer.torch.device': 'cpu',
      'scorer.torch.dtype': 'fp32',
      'scorer.torch.backoffInitialMs': 100,
    });
    // runArgs picks the deterministic scorer with --set (which would win over the flag): use the flag.
    const k = base.indexOf('scorer.kind=deterministic');
    expect(base[k - 1]).toBe('--set');
    const args = [...base.slice(0, k - 1), ...base.slice(k + 1), '--scorer', 'torch', '--model', modelDir];
    const cli = startCli(args);
    try {
      await waitFor(
        'the service to be spawned',
        () => Promise.resolve(spawnedPids(cli.stderr()).length >= 1),
        180_000,
      );
      await waitFor(
        '100 records committed',
        async () => (await committedTotal(group, first.topic)) >= 100n,
        180_000,
      );
      const [pid] = spawnedPids(cli.stderr());
      process.kill(pid, 'SIGKILL');
      const keys = await append(first.topic, 250, 500);
      const atKill = await committedTotal(group, first.topic);
      expect(atKill).toBeLessThan(await endTotal(first.topic));
      await waitFor(
        'a respawned service',
        () => Promise.resolve(spawnedPids(cli.stderr()).length >= 2),
        180_000,
      );
      await waitUntilConsumed(group, first.topic, 240_000);
      const input: InputTopic = { ...first, keys: [...first.keys, ...keys] };
      const a = await audit(out);
      expect(exactlyOnceViolations(input, a), diagnostics({ cli })).toEqual([]);
      expect(a.sft.length + a.rl.length).toBe(500);
      expect(a.dlq.map((r) => r.key).sort()).toEqual([...first.poisonKeys].sort());
      expect(a.rl.length).toBeGreaterThan(0);
      expect(spawnedPids(cli.stderr())[1]).not.toBe(pid);
    } catch (err) {
      const tail = cli.stderr().split('\n').slice(-30).join('\n');
      throw new Error(`${(err as Error).message}\n--- prism run stderr (tail) ---\n${tail}`, { cause: err });
    } finally {
      cli.child.kill('SIGTERM');
    }
    expect((await cli.exited).code, diagnostics({ cli })).toBe(0);
  });
});
