import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { devNull, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// Contract of scripts/setup-native.mjs: it may fail to set up the native backend, but it must never fail
// `npm ci` (it is the root postinstall) / CI unless --strict is given. These runs never leave 127.0.0.1.
const SCRIPT = resolve(import.meta.dirname, '../../scripts/setup-native.mjs');
const ARTIFACTS = resolve(import.meta.dirname, '../../scripts/native/artifacts.json');

interface Artifact {
  package: string;
  file: string;
  sha256: string;
  size: number;
  fetch: { client: string };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function runScript(args: string[], env: Record<string, string>): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: 'utf8',
    // Not inside an npm lifecycle unless a test says so (vitest itself may run under `npm test`).
    env: { ...process.env, npm_lifecycle_event: '', ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout };
}

describe('setup-native script', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'native-setup-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('--check on a project without tfjs-node exits 0 and says why', () => {
    const r = runScript(['--check', `--project=${root}`], {});
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/native backend \(cpu\): NOT AVAILABLE \[NOT_INSTALLED\]/);
    expect(r.stdout).toMatch(/still installs and runs on the wasm\/cpu/);
  });

  it('--check --strict turns the same result into exit 1', () => {
    expect(runScript(['--check', '--strict', `--project=${root}`], {}).status).toBe(1);
  });

  /** A project whose node_modules already holds `pkg` at the pinned version, so the script goes straight to the fetch. */
  function fakePackage(pkg: string): void {
    const dir = join(root, 'node_modules', ...pkg.split('/'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: pkg, version: '4.22.0' }));
  }

  it('an unreachable package index makes pip fail, reported as DOWNLOAD_FAILED with exit 0', async () => {
    fakePackage('@tensorflow/tfjs-node');
    const noWheels = join(root, 'no-wheels');
    mkdirSync(noWheels);
    const port = await closedPort();
    // pip's own settings point it at a closed local port: no config files, no retries, no local wheels.
    const env = {
      PRISM_NATIVE_CACHE: join(root, 'cache'),
      PIP_CONFIG_FILE: devNull,
      PIP_INDEX_URL: `http://127.0.0.1:${port}/simple`,
      PIP_FIND_LINKS: noWheels,
      PIP_RETRIES: '0',
    };
    const r = runScript([`--project=${root}`], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /NOT AVAILABLE \[DOWNLOAD_FAILED\] pip download tensorflow-cpu==2\.21\.0 exited/,
    );
    expect(runScript([`--project=${root}`, '--strict'], env).status).toBe(1);
  });

  it('without pip on PATH it says NO_PIP and exits 0', () => {
    fakePackage('@tensorflow/tfjs-node');
    const emptyBin = join(root, 'bin');
    mkdirSync(emptyBin);
    const r = runScript([`--project=${root}`], { PATH: emptyBin, PRISM_NATIVE_CACHE: join(root, 'cache') });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/native backend \(cpu\): NOT AVAILABLE \[NO_PIP\].*python3 -m pip/);
  });

  it('without mvn on PATH the GPU build says NO_MAVEN and exits 0', () => {
    fakePackage('@tensorflow/tfjs-node-gpu');
    const emptyBin = join(root, 'bin');
    mkdirSync(emptyBin);
    const r = runScript([`--project=${root}`, '--gpu-only'], {
      PATH: emptyBin,
      PRISM_NATIVE_CACHE: join(root, 'cache'),
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/native backend \(gpu\): NOT AVAILABLE \[NO_MAVEN\]/);
  });

  it('as the postinstall it reports a package npm left out instead of installing it', () => {
    const r = runScript([`--project=${root}`], {
      npm_lifecycle_event: 'postinstall',
      PRISM_NATIVE_CACHE: join(root, 'cache'),
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/NOT AVAILABLE \[NOT_INSTALLED\] npm did not install @tensorflow\/tfjs-node/);
  });

  it('PRISM_NATIVE=0 skips everything with exit 0', () => {
    const r = runScript(['--strict', `--project=${root}`], { PRISM_NATIVE: '0' });
    expect(r.status).toBe(0);
  });

  it('artifacts.json pins every artifact by file, size and sha256 and names no download address', () => {
    const text = readFileSync(ARTIFACTS, 'utf8');
    expect(text).not.toMatch(/:\/\//);
    const { variants } = JSON.parse(text) as { variants: Record<string, Artifact> };
    expect(Object.keys(variants).sort()).toEqual(['cpu', 'gpu']);
    for (const a of Object.values(variants)) {
      expect(a).not.toHaveProperty('url');
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(a.size).toBeGreaterThan(1e8);
      expect(['pip', 'maven']).toContain(a.fetch.client);
    }
  });
});
