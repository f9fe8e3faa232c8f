/**
 * Command modules register their options statically and import their implementation on use, so
 * `prism --help` (and any one command) does not load tfjs, kafkajs, avsc, zod or pino, and a broken
 * implementation module breaks only its own command. Checked by listing every module the CLI resolves
 * (a module.register resolve hook), not by timing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'prism.mjs');
const HEAVY = ['@tensorflow/', 'kafkajs', 'avsc', 'zod', 'pino', '@huggingface/', 'yaml'];

const dir = mkdtempSync(join(tmpdir(), 'prism-cli-lazy-'));
const hooks = join(dir, 'hooks.mjs');
writeFileSync(
  hooks,
  `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  process.stderr.write('RESOLVED ' + r.url + '\\n');
  return r;
}
`,
);
const registerHooks = join(dir, 'register.mjs');
writeFileSync(
  registerHooks,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Packages under node_modules that `prism <args>` resolved. */
function packagesLoaded(args: string[]): { status: number | null; packages: string[] } {
  const res = spawnSync(process.execPath, ['--import', pathToFileURL(registerHooks).href, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PRISM_USE_DIST: '0' },
  });
  const packages = new Set<string>();
  for (const line of res.stderr.split('\n')) {
    const m = /^RESOLVED .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (m) packages.add(m[1]);
  }
  return { status: res.status, packages: [...packages].sort() };
}

describe('CLI start-up', () => {
  it.each([[['--help']], [['score', '--help']], [['run', '--help']]])(
    'prism %j loads commander but none of tfjs, kafkajs, avsc, zod, pino, tokenizers, yaml',
    (args) => {
      const { status, packages } = packagesLoaded(args);
      expect(status).toBe(0);
      expect(packages).toContain('commander');
      expect(packages.filter((p) => HEAVY.some((h) => p.startsWith(h)))).toEqual([]);
    },
  );
});
