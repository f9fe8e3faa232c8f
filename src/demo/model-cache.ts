import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot } from '../kafka/local/paths.ts';
import { CONFIG_FILE, WEIGHTS_FILE } from '../model/hf-folder.ts';

/** Bump when the warm-start recipe changes in a way the settings below do not capture. */
export const WARM_START_RECIPE = 'prism-demo-warm-start/1';
export const MANIFEST_FILE = 'demo-warm-start.json';

/** What the cache key is computed from: anything that changes the trained weights. */
export interface CacheKeyInput {
  readonly settings: object;
  /** config.json of the initial model (architecture, vocabulary, tokenizer marker). */
  readonly modelConfig: object;
  /** sha256 of the initial weights. */
  readonly initWeightsSha256: string;
  /** sha256 of the generated training records (so a generator change is a new key). */
  readonly dataSha256: string;
}

export interface WarmStartManifest {
  readonly recipe: string;
  readonly key: string;
  readonly settings: object;
  readonly steps: number;
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
  readonly seconds: number;
  readonly createdAt: string;
}

/** Stable JSON: object keys sorted, so the key does not depend on property order. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function cacheKey(input: CacheKeyInput): string {
  return createHash('sha256')
    .update(stable({ recipe: WARM_START_RECIPE, ...input }))
    .digest('hex');
}

/** ~/.cache/prism-stream/models (PRISM_CACHE_DIR moves it). */
export function modelsDir(root = cacheRoot()): string {
  return join(root, 'models');
}

export function cachedModelDir(key: string, root = cacheRoot()): string {
  return join(modelsDir(root), `demo-${key.slice(0, 16)}`);
}

/** The cached folder for `key`, or null when absent, incomplete or built from other inputs. */
export async function findCachedModel(key: string, root = cacheRoot()): Promise<string | null> {
  const dir = cachedModelDir(key, root);
  if (!existsSync(join(dir, CONFIG_FILE)) || !existsSync(join(dir, WEIGHTS_FILE))) return null;
  try {
    const m = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as Partial<WarmStartManifest>;
    return m.key === key && m.recipe === WARM_START_RECIPE ? dir : null;
  } catch {
    return null;
  }
}

/**
 * Publishes a finished model folder under the cache atomically: `write(tmp)` fills a private temp
 * folder, which is renamed into place. A reader never sees half a model; when another process
 * published the same key first, its folder is kept and ours dropped.
 */
export async function publishCachedModel(
  key: string,
  manifest: WarmStartManifest,
  write: (dir: string) => Promise<void>,
  root = cacheRoot(),
): Promise<string> {
  const dir = cachedModelDir(key, root);
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(modelsDir(root), { recursive: true });
  try {
    await write(tmp);
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    // A stale folder with the same name but another key (e.g. an interrupted older layout) goes first.
    if (existsSync(dir) && (await findCachedModel(key, root)) === null)
      await rm(dir, { recursive: true, force: true });
    try {
      await rename(tmp, dir);
    } catch (err) {
      if ((await findCachedModel(key, root)) === null) throw err;
    }
    return dir;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
