#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `npx prism` works right after `npm ci`
// with no build step; `npm run build` + dist/ is the production path (see deploy/).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// tensorflow-gpu on the CUDA 12 libraries from `setup:native -- --gpu --cuda-from-pypi`: re-exec with them on
// LD_LIBRARY_PATH (read once, at start); signals and the exit code pass through (src/backend/cuda-reexec.mjs).
const cuda = await import(pathToFileURL(join(root, 'src', 'backend', 'cuda-reexec.mjs')).href);
const reexecCode = await cuda.maybeReexecWithCuda();
if (reexecCode !== undefined) process.exit(reexecCode);
// kafkajs 2.2.4 leaks aborted records to read_committed consumers; the fix must replace its
// filter before kafkajs is first loaded (see src/consumer/read-committed-fix.cjs).
createRequire(import.meta.url)(join(root, 'src', 'consumer', 'read-committed-fix.cjs')).install();
const built = join(root, 'dist', 'src', 'cli', 'main.js');
if (process.env.PRISM_USE_DIST === '1' && existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
