import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Cheap, side-effect-free check for the optional native TensorFlow backend: does node_modules hold
 * tfjs-node(-gpu) WITH its compiled addon? It never loads TensorFlow (that takes ~0.5 s and registers the
 * 'tensorflow' backend process-wide), so tests can call it at collection time for `describe.skipIf`.
 * `available: true` means "worth trying"; selectBackend() does the real load and gradient check.
 *
 * The package's own install script (denied in package.json's allowScripts) would download libtensorflow
 * from Google's CDN; instead `npm run setup:native` (also the root postinstall) builds the addon from
 * PyPI/Maven artifacts. Where that cannot run, the package is installed without its addon.
 */

export type NativePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export interface NativeBackendStatus {
  package: NativePackage;
  available: boolean;
  /** Actionable explanation when not available. */
  reason?: string;
  /** Absolute path of tfjs_binding.node when found. */
  bindingPath?: string;
  /** TensorFlow version recorded by setup:native (absent for a stock install). */
  tensorflow?: string;
}

interface PreGypConfig {
  module_path?: string;
  napi_versions?: number[];
}

const SETUP_HINT = 'run `npm run setup:native` (add `-- --gpu` for tfjs-node-gpu)';

/** node-pre-gyp builds for the highest N-API version both the package and this Node support. */
function bindingPathOf(pkgDir: string, binary: PreGypConfig): string | undefined {
  const napi = Number(process.versions.napi);
  const versions = (binary.napi_versions ?? []).filter((v) => v <= napi).sort((a, b) => b - a);
  const template = binary.module_path ?? './lib/napi-v{napi_build_version}';
  for (const v of versions) {
    const file = join(pkgDir, template.replace('{napi_build_version}', String(v)), 'tfjs_binding.node');
    if (existsSync(file)) return file;
  }
  return undefined;
}

/**
 * Status of one native package as resolved from `fromDir` (default: this module, i.e. the project's
 * node_modules). Synchronous and fast (a few stat calls).
 */
export function nativeBackendStatus(
  pkg: NativePackage = '@tensorflow/tfjs-node',
  fromDir: string = dirname(fileURLToPath(import.meta.url)),
): NativeBackendStatus {
  const require = createRequire(join(fromDir, 'noop.js'));
  let pkgJsonPath: string;
  try {
    pkgJsonPath = require.resolve(`${pkg}/package.json`);
  } catch {
    return { package: pkg, available: false, reason: `${pkg} is not installed; ${SETUP_HINT}` };
  }
  const pkgDir = dirname(pkgJsonPath);
  const manifest = JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { binary?: PreGypConfig };
  const bindingPath = bindingPathOf(pkgDir, manifest.binary ?? {});
  if (bindingPath === undefined) {
    return {
      package: pkg,
      available: false,
      reason: `${pkg} is installed but its native addon (tfjs_binding.node) was never built; ${SETUP_HINT}`,
    };
  }
  const status: NativeBackendStatus = { package: pkg, available: true, bindingPath };
  const markerPath = join(pkgDir, '.prism-native.json');
  if (existsSync(markerPath)) {
    const marker = JSON.parse(readFileSync(markerPath, 'utf8')) as { tensorflow?: unknown };
    if (typeof marker.tensorflow === 'string') status.tensorflow = marker.tensorflow;
  }
  return status;
}
