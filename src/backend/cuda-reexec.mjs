// Used by bin/prism.mjs before anything else loads: LD_LIBRARY_PATH is read once, at process start, so to use
// the CUDA 12 libraries that `npm run setup:native -- --gpu --cuda-from-pypi` unpacked into the cache, prism
// re-executes itself with them on LD_LIBRARY_PATH, but only when the tensorflow-gpu backend is asked for
// (--backend tensorflow-gpu, --set scorer.backend=tensorflow-gpu, PRISM_SCORER_BACKEND / PRISM_TRAINER_BACKEND)
// or PRISM_CUDA_FROM_PYPI=1. The child gets every signal the parent receives and the parent exits with the
// child's exit code (or dies of the same signal).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Does this command line / environment ask for the tensorflow-gpu backend? Pure. */
export function wantsTensorflowGpu(argv, env) {
  if (env.PRISM_CUDA_FROM_PYPI === '1') return true;
  if (env.PRISM_SCORER_BACKEND === 'tensorflow-gpu' || env.PRISM_TRAINER_BACKEND === 'tensorflow-gpu')
    return true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--backend' || a === '--backends') && /(^|,)tensorflow-gpu(,|$)/.test(argv[i + 1] ?? ''))
      return true;
    if (/^--backends?=(.*,)?tensorflow-gpu(,|$)/.test(a)) return true;
    if (
      /^(--set=)?[\w.]*backend=tensorflow-gpu$/.test(a) &&
      (a.startsWith('--set=') || argv[i - 1] === '--set')
    )
      return true;
  }
  return false;
}

/**
 * The environment for the re-executed child, or null when no re-exec is needed (not asked for, already
 * re-executed, no CUDA libraries in the cache, or all of them already on LD_LIBRARY_PATH). Pure.
 */
export function reexecEnv(argv, env, cudaEnv) {
  if (env.PRISM_CUDA_REEXEC === '1' || cudaEnv === null || !wantsTensorflowGpu(argv, env)) return null;
  const have = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const missing = cudaEnv.libDirs.filter((d) => !have.includes(d));
  if (missing.length === 0) return null;
  return {
    ...env,
    LD_LIBRARY_PATH: [...missing, ...have].join(':'),
    PRISM_CUDA_REEXEC: '1',
    PRISM_CUDA_MIN_DRIVER: cudaEnv.minDriver,
  };
}

export function readCudaEnv(env) {
  const cache = env.PRISM_NATIVE_CACHE ?? join(homedir(), '.cache', 'prism-stream', 'native');
  const file = join(cache, 'cuda', 'prism-cuda.json');
  if (!existsSync(file)) return null;
  try {
    const e = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(e.libDirs) && typeof e.minDriver === 'string' ? e : null;
  } catch {
    return null;
  }
}

/** Runs `process.execPath … argv` with `env`, forwarding signals; resolves with the exit code to use. */
export function runChild(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env });
    const handlers = FORWARDED.map((sig) => {
      const h = () => child.kill(sig);
      process.on(sig, h);
      return [sig, h];
    });
    child.on('exit', (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      if (signal !== null) {
        // Die of the same signal, so our parent sees what happened to the child.
        process.kill(process.pid, signal);
        resolve(128);
        return;
      }
      resolve(code ?? 1);
    });
  });
}

/** Re-executes this process when needed; returns the exit code, or undefined to carry on in this process. */
export async function maybeReexecWithCuda() {
  const env = reexecEnv(process.argv.slice(2), process.env, readCudaEnv(process.env));
  if (env === null) return undefined;
  return runChild([...process.execArgv, ...process.argv.slice(1)], env);
}
