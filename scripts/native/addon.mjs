// Put libtensorflow where tfjs-node(-gpu) expects it (deps/lib, deps/include), build or restore the N-API
// addon, and prove the package loads with the 'tensorflow' backend.
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { log, NativeSetupSkip, run, which, capture } from './util.mjs';

const MARKER = '.prism-native.json';

export function packageDir(project, pkg) {
  return join(project, 'node_modules', ...pkg.split('/'));
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function readMarker(pkgDir) {
  return readJson(join(pkgDir, MARKER));
}

/** Version of `pkg` the project asks for (optionalDependencies/dependencies), else the pinned one. */
function wantedVersion(project, pkg, fallback) {
  const pj = readJson(join(project, 'package.json')) ?? {};
  const spec = pj.optionalDependencies?.[pkg] ?? pj.dependencies?.[pkg] ?? pj.devDependencies?.[pkg];
  return { version: spec && /^\d+\.\d+\.\d+$/.test(spec) ? spec : fallback, declared: spec !== undefined };
}

/**
 * Make sure node_modules/<pkg> exists. Where its install script ran and failed (Google's CDN unreachable), npm
 * dropped it, so re-add it without scripts and without touching package.json / package-lock.json.
 */
export async function ensurePackage(project, pkgs, fallbackVersion, logFile) {
  const missing = [];
  for (const pkg of pkgs) {
    const { version, declared } = wantedVersion(project, pkg, fallbackVersion);
    const have = readJson(join(packageDir(project, pkg), 'package.json'))?.version;
    if (have === version) continue;
    if (!declared) log(`warning: ${pkg} is not in package.json; a later \`npm install\` will prune it`);
    missing.push(`${pkg}@${version}`);
  }
  if (missing.length === 0) return;
  const npmCli =
    process.env.npm_execpath && existsSync(process.env.npm_execpath) ? process.env.npm_execpath : undefined;
  const npmCmd = npmCli ? [process.execPath, npmCli] : [which('npm') ?? 'npm'];
  const args = [
    'install',
    '--no-save',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    ...missing,
  ];
  // Other processes may be installing into the same checkout; serialise on the shared lock when flock exists.
  const lock = process.env.PRISM_NPM_LOCK ?? '/tmp/npm.lock';
  const flock = which('flock');
  const [cmd, ...pre] = flock ? [flock, lock, ...npmCmd] : npmCmd;
  log(`adding ${missing.join(' ')} to node_modules (npm install --no-save --ignore-scripts)`);
  const code = await run(cmd, [...pre, ...args], { cwd: project, logFile }).catch((e) => {
    throw new NativeSetupSkip('NPM_INSTALL_FAILED', `cannot run npm (${e.message})`);
  });
  if (code !== 0)
    throw new NativeSetupSkip(
      'NPM_INSTALL_FAILED',
      `npm install ${missing.join(' ')} exited ${code} (see ${logFile})`,
    );
}

function linkOrCopy(src, dest) {
  try {
    linkSync(src, dest);
  } catch {
    copyFileSync(src, dest);
  }
}

/** deps/lib + deps/include exactly as tfjs-node's binding.gyp and scripts/install.js look for them. */
export function stageDeps(pkgDir, tfDir) {
  const deps = join(pkgDir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(join(deps, 'lib'), { recursive: true });
  for (const f of readdirSync(join(tfDir, 'lib'))) linkOrCopy(join(tfDir, 'lib', f), join(deps, 'lib', f));
  // binding.gyp links -ltensorflow -ltensorflow_framework; the real SONAMEs (libtensorflow_cc.so.2, ...) end up in
  // DT_NEEDED and are found through the addon's RUNPATH $ORIGIN/../../deps/lib. The *.so.2.9.1 names are the ones
  // scripts/install.js tests for, so re-running the package's own install script skips its download.
  const links = {
    'libtensorflow.so': 'libtensorflow_cc.so.2',
    'libtensorflow_framework.so': 'libtensorflow_framework.so.2',
    'libtensorflow.so.2.9.1': 'libtensorflow_cc.so.2',
    'libtensorflow_framework.so.2.9.1': 'libtensorflow_framework.so.2',
  };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(deps, 'lib', name));
  cpSync(join(tfDir, 'include'), join(deps, 'include'), { recursive: true });
}

function nodeHeadersDir() {
  const candidates = [
    process.env.npm_config_nodedir,
    resolve(dirname(process.execPath), '..'),
    join(homedir(), '.cache', 'node-gyp', process.versions.node),
  ].filter(Boolean);
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
}

/** Why a source build cannot run here, or undefined if it can. */
export function buildPrerequisiteProblem() {
  const missingTools = ['python3', 'make'].filter((t) => !which(t));
  if (!which('c++') && !which('g++')) missingTools.push('c++ (g++)');
  if (missingTools.length)
    return `missing build tools: ${missingTools.join(', ')} (Debian: apt-get install python3 make g++)`;
  if (!nodeHeadersDir()) {
    return 'no Node.js headers (include/node/node_api.h) next to node or in npm_config_nodedir; node-gyp would try to download them';
  }
  return undefined;
}

function builtBinding(pkgDir) {
  const lib = join(pkgDir, 'lib');
  if (!existsSync(lib)) return undefined;
  for (const d of readdirSync(lib)
    .filter((x) => /^napi-v\d+$/.test(x))
    .sort()
    .reverse()) {
    if (existsSync(join(lib, d, 'tfjs_binding.node')))
      return { napiDir: d, file: join(lib, d, 'tfjs_binding.node') };
  }
  return undefined;
}

/** Compile binding/*.cc with node-pre-gyp/node-gyp against deps/, like `npm install` would when the download fails. */
export async function buildAddon(pkgDir, logFile) {
  const problem = buildPrerequisiteProblem();
  if (problem) throw new NativeSetupSkip('NO_TOOLCHAIN', problem);
  const preGyp = join(
    dirname(require_resolve('@mapbox/node-pre-gyp/package.json', pkgDir)),
    'bin',
    'node-pre-gyp',
  );
  rmSync(join(pkgDir, 'lib'), { recursive: true, force: true });
  rmSync(join(pkgDir, 'build'), { recursive: true, force: true });
  const env = { ...process.env, npm_config_nodedir: nodeHeadersDir(), JOBS: process.env.JOBS ?? 'max' };
  log(`compiling the N-API addon in ${pkgDir} (log: ${logFile})`);
  // --build-from-source: never ask Google's CDN for a prebuilt addon.
  const code = await run(process.execPath, [preGyp, 'install', '--build-from-source'], {
    cwd: pkgDir,
    env,
    logFile,
  });
  const built = builtBinding(pkgDir);
  if (code !== 0 || !built) {
    const tail = existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => /error|Error/.test(l))
          .slice(-15)
          .join('\n')
      : '';
    throw new NativeSetupSkip('BUILD_FAILED', `node-pre-gyp exited ${code}; see ${logFile}\n${tail}`);
  }
  rmSync(join(pkgDir, 'build'), { recursive: true, force: true });
  return built;
}

function require_resolve(spec, from) {
  const out = capture(process.execPath, ['-p', `require.resolve(${JSON.stringify(spec)})`], { cwd: from });
  if (!out) throw new NativeSetupSkip('PACKAGE_INCOMPLETE', `cannot resolve ${spec} from ${from}`);
  return out;
}

export function saveAddonToCache(pkgDir, cacheDir) {
  const built = builtBinding(pkgDir);
  if (!built) return;
  mkdirSync(join(cacheDir, built.napiDir), { recursive: true });
  copyFileSync(built.file, join(cacheDir, built.napiDir, 'tfjs_binding.node'));
}

export function restoreAddonFromCache(pkgDir, cacheDir) {
  if (!existsSync(cacheDir)) return false;
  const dirs = readdirSync(cacheDir).filter((d) => existsSync(join(cacheDir, d, 'tfjs_binding.node')));
  if (dirs.length === 0) return false;
  rmSync(join(pkgDir, 'lib'), { recursive: true, force: true });
  for (const d of dirs) {
    mkdirSync(join(pkgDir, 'lib', d), { recursive: true });
    copyFileSync(join(cacheDir, d, 'tfjs_binding.node'), join(pkgDir, 'lib', d, 'tfjs_binding.node'));
  }
  return true;
}

/** Load the package in a child process (keeps TF out of this one) and check backend, matmul and a gradient. */
export async function verifyPackage(project, pkg) {
  const code = `
    const tf = require(${JSON.stringify(pkg)});
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    const m = Array.from(tf.matMul(a, a).dataSync());
    const g = Array.from(tf.grad((x) => x.square().sum())(tf.tensor1d([1, 2, 3])).dataSync());
    const ok = tf.getBackend() === 'tensorflow' && m.join() === '7,10,15,22' && g.join() === '2,4,6';
    process.stdout.write(JSON.stringify({ ok, backend: tf.getBackend(), tensorflow: tf.backend().binding.TF_Version,
      gpu: tf.backend().isUsingGpuDevice === true,
      tfjsNode: tf.version['tfjs-node'], matmul: m, grad: g }));`;
  const out = capture(process.execPath, ['-e', code], {
    cwd: project,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
    timeout: 180_000,
  });
  if (!out) return { ok: false };
  try {
    return JSON.parse(out.split('\n').pop());
  } catch {
    return { ok: false, raw: out };
  }
}

export function writeMarker(pkgDir, data) {
  writeFileSync(join(pkgDir, MARKER), JSON.stringify(data, null, 2) + '\n');
}
