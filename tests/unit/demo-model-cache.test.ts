import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cacheKey,
  cachedModelDir,
  findCachedModel,
  MANIFEST_FILE,
  publishCachedModel,
  WARM_START_RECIPE,
  type CacheKeyInput,
  type WarmStartManifest,
} from '../../src/demo/model-cache.ts';
import { demoSettings } from '../../src/demo/settings.ts';

const roots: string[] = [];
function tempRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'prism-demo-cache-'));
  roots.push(r);
  return r;
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const base: CacheKeyInput = {
  settings: demoSettings().warmStart,
  modelConfig: { model_type: 'llama', hidden_size: 64 },
  initWeightsSha256: 'a'.repeat(64),
  dataSha256: 'b'.repeat(64),
};

function manifest(key: string): WarmStartManifest {
  return {
    recipe: WARM_START_RECIPE,
    key,
    settings: base.settings,
    steps: 1,
    firstLoss: 5,
    lastLoss: 4,
    seconds: 1,
    createdAt: 'now',
  };
}

async function fakeModel(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), '{}');
  await writeFile(join(dir, 'model.safetensors'), 'x');
}

describe('demo warm-start cache key', () => {
  it('does not depend on the order of settings keys', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(Object.keys(base.settings), { minLength: Object.keys(base.settings).length }),
        (keys) => {
          const reordered = Object.fromEntries(
            keys.map((k) => [k, (base.settings as Record<string, unknown>)[k]]),
          );
          expect(cacheKey({ ...base, settings: reordered })).toBe(cacheKey(base));
        },
      ),
    );
  });

  it('changes when any warm-start setting, the model config, the initial weights or the training data change', () => {
    const k = cacheKey(base);
    const s = base.settings as Record<string, unknown>;
    for (const [name, value] of Object.entries(s)) {
      const changed = typeof value === 'number' ? value + 1 : `${String(value)}x`;
      expect(cacheKey({ ...base, settings: { ...s, [name]: changed } }), name).not.toBe(k);
    }
    expect(cacheKey({ ...base, modelConfig: { model_type: 'llama', hidden_size: 65 } })).not.toBe(k);
    expect(cacheKey({ ...base, initWeightsSha256: 'c'.repeat(64) })).not.toBe(k);
    expect(cacheKey({ ...base, dataSha256: 'c'.repeat(64) })).not.toBe(k);
  });

  it('the quick and default profiles share one warm-started model', () => {
    expect(demoSettings({ quick: true }).warmStart).toEqual(demoSettings().warmStart);
  });
});

describe('demo warm-start cache folder', () => {
  it('publishes atomically and finds the model only under its own key', async () => {
    const root = tempRoot();
    const key = cacheKey(base);
    expect(await findCachedModel(key, root)).toBeNull();
    const dir = await publishCachedModel(key, manifest(key), fakeModel, root);
    expect(dir).toBe(cachedModelDir(key, root));
    expect(await findCachedModel(key, root)).toBe(dir);
    // No temp folder left next to it.
    expect(readdirSync(join(root, 'models'))).toEqual([dir.split('/').pop()]);
  });

  it('ignores a folder whose manifest names another key or is missing', async () => {
    const root = tempRoot();
    const key = cacheKey(base);
    const dir = cachedModelDir(key, root);
    await fakeModel(dir);
    expect(await findCachedModel(key, root)).toBeNull(); // no manifest: an interrupted or foreign folder
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest('f'.repeat(64))));
    expect(await findCachedModel(key, root)).toBeNull();
    // Publishing replaces such a stale folder.
    await publishCachedModel(key, manifest(key), fakeModel, root);
    expect(await findCachedModel(key, root)).toBe(dir);
  });

  it('leaves nothing behind when writing the model fails', async () => {
    const root = tempRoot();
    const key = cacheKey(base);
    await expect(
      publishCachedModel(key, manifest(key), () => Promise.reject(new Error('disk full')), root),
    ).rejects.toThrow('disk full');
    expect(await findCachedModel(key, root)).toBeNull();
    expect(readdirSync(join(root, 'models'), { withFileTypes: true }).length).toBe(0);
  });
});
