import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from '../kafka/local/paths.ts';

/** The checkout root (the folder whose package.json is prism-stream), from src/ (tsx) or dist/src/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'prism-stream') return dir;
      } catch {
        // not ours: keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`prism-stream package.json not found above ${import.meta.url}`);
    dir = parent;
  }
}

/** Where bench commands write JSON results and `bench report` reads them: bench/results/. */
export function defaultResultsDir(): string {
  return join(repoRoot(), 'bench', 'results');
}

/** Compiled helpers (the sgemm probe) live outside the repo: <PRISM_CACHE_DIR|~/.cache/prism-stream>/bench. */
export function benchCacheDir(): string {
  return join(cacheRoot(), 'bench');
}
