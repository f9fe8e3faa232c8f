// `setup:native -- --gpu --cuda-from-pypi`: the CUDA 12 runtime libraries TensorFlow 2.21's GPU build dlopen()s,
// from the nvidia-*-cu12 wheels that `tensorflow[and-cuda]==2.21.0` pins on PyPI (cuda-wheels.json: file + sha256,
// fetched with `pip download --no-deps` under --hash), unpacked into <cache>/cuda/tf<version>/nvidia/*/lib.
// bin/prism.mjs reads <cache>/cuda/prism-cuda.json and re-executes itself with those folders on LD_LIBRARY_PATH
// when the tensorflow-gpu backend is asked for (LD_LIBRARY_PATH is read once, at process start).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchArtifact } from './fetch.mjs';
import { unzipMembers } from './libtensorflow.mjs';
import { log, NativeSetupSkip } from './util.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export function readCudaManifest(file = join(here, 'cuda-wheels.json')) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The artifact record fetchArtifact() expects for one pinned wheel (size is not pinned: sha256 is). */
export function wheelArtifact(w, pythonVersion) {
  return {
    file: w.file,
    sha256: w.sha256,
    fetch: {
      client: 'pip',
      requirement: `${w.name}==${w.version}`,
      platform: w.platform,
      pythonVersion,
      implementation: 'cp',
      abi: 'none',
    },
  };
}

/** The env file bin/prism.mjs reads: where the libraries are and which driver they need. */
export function cudaEnvFile(cache) {
  return join(cache, 'cuda', 'prism-cuda.json');
}

/** nvidia/<pkg>/lib folders under root that hold shared libraries, sorted. */
export function cudaLibDirs(root) {
  const nv = join(root, 'nvidia');
  if (!existsSync(nv)) return [];
  return readdirSync(nv)
    .map((p) => join(nv, p, 'lib'))
    .filter((d) => existsSync(d) && readdirSync(d).some((f) => /\.so(\.|$)/.test(f)))
    .sort();
}

/** Fetches (sha256-pinned), unpacks and describes the CUDA libraries; logFile receives the clients' output. */
export async function ensureCudaLibs(
  manifest,
  cache,
  { offline = false, logFile = join(cache, 'logs', 'cuda-wheels.log') } = {},
) {
  mkdirSync(dirname(logFile), { recursive: true });
  const root = join(cache, 'cuda', `tf${manifest.tensorflow}`);
  const marker = join(root, '.complete.json');
  if (!existsSync(marker)) {
    const downloads = join(cache, 'downloads');
    mkdirSync(downloads, { recursive: true });
    const tmp = `${root}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    for (const w of manifest.wheels) {
      log(`CUDA library wheel ${w.name} ${w.version}`);
      await fetchArtifact(wheelArtifact(w, manifest.pythonVersion), downloads, { cache, logFile, offline });
      await unzipMembers(join(downloads, w.file), tmp, ['nvidia/*/lib/*'], logFile);
    }
    writeFileSync(
      join(tmp, '.complete.json'),
      JSON.stringify({ wheels: manifest.wheels, at: new Date().toISOString() }),
    );
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
  }
  const libDirs = cudaLibDirs(root);
  if (libDirs.length === 0)
    throw new NativeSetupSkip('CUDA_LIBS_MISSING', `no nvidia/*/lib folders under ${root}`);
  const env = {
    tensorflow: manifest.tensorflow,
    cuda: manifest.cuda,
    minDriver: manifest.minDriver,
    libDirs,
    wheels: manifest.wheels.map((w) => `${w.name}==${w.version}`),
  };
  writeFileSync(cudaEnvFile(cache), `${JSON.stringify(env, null, 2)}\n`);
  return env;
}
