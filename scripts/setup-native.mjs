#!/usr/bin/env node
// npm run setup:native [-- --gpu|--gpu-only] [--strict] [--force] [--offline] [--check] [--project=DIR]
// Also the root `postinstall`, so a plain `npm ci` ends with a working native backend where it can be built.
//
// Builds the optional native TensorFlow backend (@tensorflow/tfjs-node, and with --gpu @tensorflow/tfjs-node-gpu)
// without the packages' own download from Google's CDN (package.json's allowScripts denies their install scripts):
// libtensorflow 2.21 comes from PyPI via pip (tensorflow-cpu wheel: libs + C headers) and, for the GPU build, from
// Maven Central via mvn (org.tensorflow:tensorflow-core-native:linux-x86_64-gpu). Everything is cached under
// ~/.cache/prism-stream/native, so re-running after `npm ci` takes seconds.
//
// Never fatal by default: if anything is missing (no network, no pip/mvn, no compiler, other OS) it prints why,
// leaves the project on the wasm/cpu backends and exits 0. --strict (or PRISM_NATIVE_STRICT=1) turns that into exit 1.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildAddon,
  ensurePackage,
  packageDir,
  readMarker,
  restoreAddonFromCache,
  saveAddonToCache,
  stageDeps,
  verifyPackage,
  writeMarker,
} from './native/addon.mjs';
import { ensureCudaLibs, readCudaManifest } from './native/cuda.mjs';
import { ensureLibtensorflow, readLibtensorflowInfo } from './native/libtensorflow.mjs';
import { log, NativeSetupSkip } from './native/util.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = JSON.parse(readFileSync(join(here, 'native', 'artifacts.json'), 'utf8'));

const HELP = `Usage: npm run setup:native -- [options]
  --gpu            also build @tensorflow/tfjs-node-gpu (downloads a further 427 MB jar once)
  --gpu-only       build only the GPU package
  --cuda-from-pypi with --gpu: also fetch the CUDA 12 libraries TensorFlow 2.21 needs (the sha256-pinned
                   nvidia-*-cu12 wheels of tensorflow[and-cuda]==2.21.0, scripts/native/cuda-wheels.json) into the
                   cache; bin/prism.mjs puts them on LD_LIBRARY_PATH when the tensorflow-gpu backend is asked for
  --strict         exit 1 when the native backend could not be set up (default: exit 0 with a message)
  --force          rebuild the addon even if a cached or working one exists
  --offline        use only ~/.cache/prism-stream/native, never the network
  --check          only report whether the native backend is ready; change nothing
  --project=DIR    project whose node_modules to set up (default: this repository)
Env: PRISM_NATIVE=0 skips everything (also the postinstall); PRISM_NATIVE_VARIANTS=cpu,gpu; PRISM_NATIVE_STRICT=1;
     PRISM_NATIVE_CACHE (default ~/.cache/prism-stream/native); PRISM_NPM_LOCK (flock file).
Downloads go through pip and mvn, so mirrors are their own settings: pip.conf or PIP_INDEX_URL for PyPI,
<mirror> in ~/.m2/settings.xml for Maven Central.`;

function parseArgs(argv) {
  const o = {
    variants: ['cpu'],
    strict: process.env.PRISM_NATIVE_STRICT === '1',
    force: false,
    offline: false,
    check: false,
    project: resolve(here, '..'),
    // Run by npm as the root `postinstall` (npm ci / npm install), not by hand.
    postinstall: process.env.npm_lifecycle_event === 'postinstall',
  };
  if (process.env.PRISM_NATIVE_VARIANTS)
    o.variants = process.env.PRISM_NATIVE_VARIANTS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (const a of argv) {
    if (a === '--gpu') o.variants = ['cpu', 'gpu'];
    else if (a === '--gpu-only') o.variants = ['gpu'];
    else if (a === '--cuda-from-pypi') o.cudaFromPypi = true;
    else if (a === '--strict') o.strict = true;
    else if (a === '--force') o.force = true;
    else if (a === '--offline') o.offline = true;
    else if (a === '--check') o.check = true;
    else if (a.startsWith('--project=')) o.project = resolve(a.slice('--project='.length));
    else if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    } else {
      console.error(`setup:native: unknown option ${a}\n${HELP}`);
      process.exit(2);
    }
  }
  for (const v of o.variants) {
    if (!artifacts.variants[v]) {
      console.error(`setup:native: unknown variant ${v} (expected cpu or gpu)`);
      process.exit(2);
    }
  }
  return o;
}

function addonCacheDir(cache, variant, tfVersion, pkgVersion) {
  const pkg = artifacts.variants[variant].package.replace('@tensorflow/', '');
  return join(cache, 'addon', `${pkg}-${pkgVersion}-tf${tfVersion}-${process.platform}-${process.arch}`);
}

async function setupVariant(variant, o, cache) {
  const pkg = artifacts.variants[variant].package;
  const pkgDir = packageDir(o.project, pkg);
  const logFile = join(cache, 'logs', `build-${variant}.log`);

  if (o.check) {
    const v = existsSync(pkgDir) ? await verifyPackage(o.project, pkg) : { ok: false };
    if (!v.ok) throw new NativeSetupSkip('NOT_INSTALLED', `${pkg} is not installed or does not load`);
    return v;
  }

  // Leave a working install alone (ours from an earlier run, or the stock one on a host that could download).
  const marker = readMarker(pkgDir);
  if (!o.force && existsSync(pkgDir)) {
    const v = await verifyPackage(o.project, pkg);
    if (v.ok) {
      log(
        `${pkg} already works (TensorFlow ${v.tensorflow}${marker ? ', built by setup:native' : ', stock install'})`,
      );
      return v;
    }
  }

  if (o.postinstall) {
    // Inside npm ci/install a nested `npm install` would race the running one (and wait forever on its flock).
    if (!existsSync(join(pkgDir, 'package.json'))) {
      throw new NativeSetupSkip(
        'NOT_INSTALLED',
        `npm did not install ${pkg} (--omit=optional?); \`npm run setup:native\` adds it`,
      );
    }
  } else {
    await ensurePackage(o.project, [pkg], artifacts.tfjsNode, logFile);
  }
  const pkgVersion = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const lt = await ensureLibtensorflow(variant, artifacts, cache, { offline: o.offline });
  const tfVersion = readLibtensorflowInfo(lt.dir)?.tensorflow ?? artifacts.tensorflow;

  stageDeps(pkgDir, lt.dir);
  const addonCache = addonCacheDir(cache, variant, tfVersion, pkgVersion);
  let how = 'restored cached addon';
  if (o.force || !restoreAddonFromCache(pkgDir, addonCache)) {
    await buildAddon(pkgDir, logFile);
    saveAddonToCache(pkgDir, addonCache);
    how = 'built addon from source';
  }
  const v = await verifyPackage(o.project, pkg);
  if (!v.ok) {
    throw new NativeSetupSkip(
      'VERIFY_FAILED',
      `${pkg} was ${how} but does not load or compute correctly: ${JSON.stringify(v)}`,
    );
  }
  writeMarker(pkgDir, {
    package: pkg,
    version: pkgVersion,
    tensorflow: v.tensorflow,
    libtensorflow: lt.dir,
    how,
    at: new Date().toISOString(),
  });
  log(`${pkg}: ${how}; TensorFlow ${v.tensorflow}; matmul and gradient OK`);
  return v;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const off = (process.env.PRISM_NATIVE ?? '').toLowerCase();
  if (off === '0' || off === 'off' || off === 'false' || off === 'skip') {
    log('PRISM_NATIVE=0: skipping; prism-stream uses the wasm/cpu TensorFlow.js backends');
    return 0;
  }
  if (o.postinstall)
    log('postinstall: setting up the optional native TensorFlow backend (PRISM_NATIVE=0 skips this)');
  const cache = resolve(
    process.env.PRISM_NATIVE_CACHE ?? join(homedir(), '.cache', 'prism-stream', 'native'),
  );
  mkdirSync(join(cache, 'logs'), { recursive: true });

  let failed = 0;
  for (const variant of o.variants) {
    const pkg = artifacts.variants[variant].package;
    try {
      if (process.platform !== 'linux' || process.arch !== 'x64') {
        throw new NativeSetupSkip(
          'UNSUPPORTED_PLATFORM',
          `only linux-x64 is scripted (this is ${process.platform}-${process.arch})`,
        );
      }
      const v = await setupVariant(variant, o, cache);
      console.log(`native backend (${variant}): READY — ${pkg} ${v.tfjsNode} on TensorFlow ${v.tensorflow}`);
      if (variant === 'gpu') {
        console.log(`  GPU device in use here: ${v.gpu ? 'yes' : 'no (runs on the CPU)'}`);
        console.log(
          '  GPU run time needs an NVIDIA driver >= 525 plus CUDA 12 (>= 12.5) and cuDNN 9 (>= 9.3) libraries on',
        );
        console.log(
          '  LD_LIBRARY_PATH (or `pip install "tensorflow[and-cuda]==2.21.0"` and point LD_LIBRARY_PATH at its nvidia/*/lib);',
        );
        console.log('  without them it runs on the CPU and logs "Cannot dlopen some GPU libraries".');
      }
    } catch (e) {
      if (!(e instanceof NativeSetupSkip)) throw e;
      failed++;
      console.log(`native backend (${variant}): NOT AVAILABLE [${e.code}] ${e.message}`);
      console.log('  prism-stream still installs and runs on the wasm/cpu TensorFlow.js backends.');
    }
  }
  if (o.cudaFromPypi) failed += await setupCuda(o, cache);
  return failed > 0 && o.strict ? 1 : 0;
}

async function setupCuda(o, cache) {
  try {
    const manifest = readCudaManifest();
    const env = await ensureCudaLibs(manifest, cache, {
      offline: o.offline,
      logFile: join(cache, 'logs', 'cuda-wheels.log'),
    });
    console.log(
      `CUDA ${env.cuda} libraries from PyPI: READY — ${env.libDirs.length} folders (${env.wheels.join(', ')})`,
    );
    console.log(
      `  bin/prism.mjs adds them to LD_LIBRARY_PATH for --backend tensorflow-gpu; NVIDIA driver >= ${env.minDriver} needed`,
    );
    return 0;
  } catch (e) {
    if (!(e instanceof NativeSetupSkip)) throw e;
    console.log(`CUDA libraries from PyPI: NOT AVAILABLE [${e.code}] ${e.message}`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    // Unexpected bug in this script: still do not break installs unless strict.
    console.error(`setup:native: unexpected error: ${e?.stack ?? e}`);
    const strict = process.argv.includes('--strict') || process.env.PRISM_NATIVE_STRICT === '1';
    process.exit(strict ? 1 : 0);
  },
);
