import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nativeBackendStatus } from '../../src/backend/native-check.ts';

/** A fake project with node_modules/@tensorflow/tfjs-node laid out like the real package. */
function fakeProject(root: string, opts: { napiDir?: string; tensorflow?: string } = {}): string {
  const pkgDir = join(root, 'node_modules', '@tensorflow', 'tfjs-node');
  mkdirSync(pkgDir, { recursive: true });
  writeFileSync(
    join(pkgDir, 'package.json'),
    JSON.stringify({
      name: '@tensorflow/tfjs-node',
      version: '4.22.0',
      binary: { module_path: './lib/napi-v{napi_build_version}', napi_versions: [3, 4, 5, 6, 7, 8] },
    }),
  );
  if (opts.napiDir) {
    mkdirSync(join(pkgDir, 'lib', opts.napiDir), { recursive: true });
    writeFileSync(join(pkgDir, 'lib', opts.napiDir, 'tfjs_binding.node'), '');
  }
  if (opts.tensorflow)
    writeFileSync(join(pkgDir, '.prism-native.json'), JSON.stringify({ tensorflow: opts.tensorflow }));
  return pkgDir;
}

describe('nativeBackendStatus', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'native-check-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reports a missing package with the setup:native hint', () => {
    const s = nativeBackendStatus('@tensorflow/tfjs-node', root);
    expect(s.available).toBe(false);
    expect(s.reason).toMatch(/not installed.*npm run setup:native/);
  });

  it('reports an installed package without a compiled addon as unavailable', () => {
    fakeProject(root);
    const s = nativeBackendStatus('@tensorflow/tfjs-node', root);
    expect(s.available).toBe(false);
    expect(s.reason).toMatch(/never built.*npm run setup:native/);
  });

  it('finds the addon under the highest N-API directory the package lists', () => {
    const pkgDir = fakeProject(root, { napiDir: 'napi-v8', tensorflow: '2.21.0' });
    const s = nativeBackendStatus('@tensorflow/tfjs-node', root);
    expect(s).toEqual({
      package: '@tensorflow/tfjs-node',
      available: true,
      bindingPath: join(pkgDir, 'lib', 'napi-v8', 'tfjs_binding.node'),
      tensorflow: '2.21.0',
    });
  });

  it('ignores addons built for an N-API version the package does not list', () => {
    fakeProject(root, { napiDir: 'napi-v99' });
    expect(nativeBackendStatus('@tensorflow/tfjs-node', root).available).toBe(false);
  });
});
