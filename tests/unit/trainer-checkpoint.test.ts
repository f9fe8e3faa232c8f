import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { weightsSha256 } from '../../src/trainer/checkpoint/sha.ts';
import { CheckpointStore, verifyCheckpoint, type WriteRequest } from '../../src/trainer/checkpoint/store.ts';
import { createLogger } from '../../src/log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ckpt-'));
  dirs.push(d);
  return d;
}
const log = createLogger('test', 'silent');

function request(step: number, weights = `w${step}`): WriteRequest {
  return {
    step,
    trainer: 'sft',
    consumerGroup: 'g',
    parent: null,
    offsets: [{ topic: 't', partition: 0, offset: String(step * 10), doneAbove: [] }],
    state: { records: step },
    metrics: { loss: 1 / step },
    optimizerStep: step,
    writeWeights: async (dir) => {
      await writeFile(join(dir, 'model.safetensors'), weights);
      await writeFile(join(dir, 'config.json'), '{}');
    },
    writeOptimizer: async (dir) => {
      await writeFile(join(dir, 'optimizer.safetensors'), 'opt');
      return 'optimizer.safetensors';
    },
  };
}

describe('weightsSha256', () => {
  it('hashes name, size and bytes of each *.safetensors file in name order (the documented definition)', async () => {
    const d = tmp();
    writeFileSync(join(d, 'model-2.safetensors'), 'bb');
    writeFileSync(join(d, 'model-1.safetensors'), 'a');
    writeFileSync(join(d, 'config.json'), 'ignored');
    const h = createHash('sha256');
    for (const [name, body] of [
      ['model-1.safetensors', 'a'],
      ['model-2.safetensors', 'bb'],
    ]) {
      const size = Buffer.alloc(8);
      size.writeBigUInt64LE(BigInt(body.length));
      h.update(Buffer.concat([Buffer.from(name), Buffer.from([0]), size, Buffer.from(body)]));
    }
    expect(await weightsSha256(d)).toBe(h.digest('hex'));
  });
});

describe('CheckpointStore', () => {
  it('writes a complete step folder with a manifest and leaves no temp folder', async () => {
    const store = new CheckpointStore(tmp(), 'm', log);
    const ref = await store.write(request(7));
    expect(ref.path.endsWith('step-000000007')).toBe(true);
    expect(ref.manifest).toMatchObject({
      step: 7,
      modelId: 'm',
      weightFiles: ['model.safetensors'],
      optimizer: { file: 'trainer_state/optimizer.safetensors' },
    });
    expect(ref.manifest.version).toBe(`7-${ref.manifest.sha256.slice(0, 8)}`);
    expect(readdirSync(store.dir).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });

  it('removes the temp folder when a writer fails, so no partial checkpoint is ever visible', async () => {
    const store = new CheckpointStore(tmp(), 'm', log);
    const req = request(1);
    req.writeOptimizer = async () => {
      throw new Error('disk full');
    };
    await expect(store.write(req)).rejects.toThrow('disk full');
    expect(readdirSync(store.dir)).toEqual([]);
  });

  it('finds the newest valid checkpoint, skipping one whose weights were corrupted', async () => {
    const store = new CheckpointStore(tmp(), 'm', log);
    await store.write(request(1));
    const bad = await store.write(request(2));
    appendFileSync(join(bad.path, 'model.safetensors'), 'x');
    expect((await store.latest())?.manifest.step).toBe(1);
    await expect(verifyCheckpoint(bad.path, bad.manifest.sha256)).rejects.toMatchObject({
      code: 'CHECKPOINT_SHA_MISMATCH',
    });
  });

  it('prunes all but the newest `keep` checkpoints', async () => {
    const store = new CheckpointStore(tmp(), 'm', log);
    for (const s of [1, 2, 3, 4]) await store.write(request(s));
    await store.prune(2);
    expect((await store.list()).map((c) => c.step)).toEqual([4, 3]);
  });

  it('refuses a second live process and takes over a dead one’s lock', async () => {
    const root = tmp();
    const a = new CheckpointStore(root, 'm', log);
    a.lock();
    writeFileSync(join(a.dir, '.lock'), `${process.ppid}\n`); // a live process other than us
    expect(() => new CheckpointStore(root, 'm', log).lock()).toThrow(/in use by process/);
    writeFileSync(join(a.dir, '.lock'), '999999999\n'); // no such process
    const b = new CheckpointStore(root, 'm', log);
    b.lock();
    b.unlock();
    expect(existsSync(join(a.dir, '.lock'))).toBe(false);
  });
});
