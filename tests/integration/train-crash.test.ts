import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/trainer/checkpoint/store.ts';
import { readIdLog } from '../../src/trainer/id-log.ts';
import { countingTrajectory, scored } from '../unit/trainer-fixtures.ts';
import { testBrokers, uniqueName } from './helpers/kafka.ts';
import { produceScored, tempDir, tinyModelDir, uniqueTopics, waitFor } from './train-helpers.ts';

const PRISM = fileURLToPath(new URL('../../bin/prism.mjs', import.meta.url));
const tmp = tempDir('train-crash-');
afterAll(() => tmp.remove());

function startTrainerProcess(configPath: string): {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [PRISM, 'train', 'sft', '--config', configPath, '--no-progress'], {
    env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => err };
}

describe('prism train sft: kill -9 and restart', () => {
  it('loses no record and trains none twice in the surviving lineage (id log)', async ({ annotate }) => {
    const topics = uniqueTopics();
    const root = join(tmp.path, 'ckpt');
    const idLog = join(tmp.path, 'ids.jsonl');
    const configPath = join(tmp.path, 'prism.yaml');
    // JSON is YAML.
    writeFileSync(
      configPath,
      JSON.stringify({
        kafka: { brokers: testBrokers() },
        topics,
        trainer: {
          checkpointRoot: root,
          backend: 'cpu',
          sft: {
            modelId: 'crash-sft',
            groupId: uniqueName('g-crash'),
            initModelDir: await tinyModelDir(tmp.path),
            idLog,
            microBatchSize: 8,
            maxBatchWaitMs: 300,
            maxSeqLen: 32,
            checkpoint: { everySteps: 5, everySeconds: 3600 },
            metrics: { port: 0 },
            sessionTimeoutMs: 10_000,
          },
        },
      }),
    );
    const all = Array.from({ length: 240 }, (_, i) => scored(countingTrajectory(`c-${i}`, i % 8)));
    const store = new CheckpointStore(root, 'crash-sft');

    const first = startTrainerProcess(configPath);
    await produceScored(topics.sft, all.slice(0, 120));
    // Kill once steps past the newest checkpoint were trained: they, and in-flight records, die with the process.
    const newestStep = async (): Promise<number> => (await store.list())[0]?.step ?? -1;
    await waitFor(
      'a step trained after a checkpoint',
      async () => {
        const ckpt = await newestStep();
        return ckpt > 0 && readIdLog(idLog).entries.some((e) => e.step > ckpt);
      },
      120_000,
      10,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const ckptAtKill = await newestStep();
    const atKill = readIdLog(idLog).entries;
    const lostSteps = atKill.filter((e) => e.step > ckptAtKill).length;
    expect(atKill.length).toBeLessThan(240);

    await produceScored(topics.sft, all.slice(120));
    const second = startTrainerProcess(configPath);
    try {
      await waitFor(
        'every record trained in the surviving lineage',
        () => readIdLog(idLog).entries.length >= 240,
        180_000,
      );
    } finally {
      second.child.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);

    const { entries, superseded, starts } = readIdLog(idLog);
    const ids = entries.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length); // none twice
    expect(ids.sort()).toEqual(all.map((r) => r.trajectory.id).sort()); // none lost
    expect(starts.length).toBe(2);
    expect(starts[1].fromStep).toBe(ckptAtKill); // the restart resumed from the newest checkpoint
    // Steps of the killed lineage past that checkpoint were superseded, and their records re-trained once.
    expect(superseded.length).toBe(lostSteps);
    for (const s of superseded) expect(ids).toContain(s.id);
    expect(second.stderr()).not.toMatch(/"level":50/);
    await annotate(
      `killed after ${atKill.length} trained ids; resumed from step ${starts[1].fromStep}; ${superseded.length} ids of the dead lineage superseded and re-trained; ${ids.length} unique ids in the lineage`,
    );
  });
});
