import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaVersion } from './versions.ts';

/** Root of the on-disk cache, outside the repo: PRISM_CACHE_DIR or ~/.cache/prism-stream. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.PRISM_CACHE_DIR;
  return override !== undefined && override !== ''
    ? resolve(override)
    : join(homedir(), '.cache', 'prism-stream');
}

/** Per-version folder holding pom.xml, mvn.log and libs/. */
export function versionCacheDir(version: KafkaVersion, root = cacheRoot()): string {
  return join(root, 'kafka', version);
}

export function libsDir(version: KafkaVersion, root = cacheRoot()): string {
  return join(versionCacheDir(version, root), 'libs');
}

/** Run dir of the CLI-managed broker (state.json, configs, logs, data). */
export function defaultRunDir(root = cacheRoot()): string {
  return join(root, 'run');
}

/**
 * deploy/local/ of this checkout. Found by walking up from this module, so it works from src/
 * (tsx) and from dist/src/ alike.
 */
export function deployLocalDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'deploy', 'local');
    if (existsSync(join(candidate, 'server.properties.tmpl'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('deploy/local/server.properties.tmpl not found above ' + import.meta.url);
    dir = parent;
  }
}
