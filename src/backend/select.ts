import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { PrismError, errorMessage } from '../errors.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { AUTO_ORDER, type BackendChoice, type BackendKind } from './choices.ts';
import { assertDriver, installedDriverVersion } from './cuda-driver.ts';
import { describeAdapter, initWebgpu, type AdapterInfo } from './webgpu.ts';

/**
 * Picks the tfjs backend at start-up: the fastest one that loads AND passes a tiny gradient check.
 *
 * Order for `auto`: tensorflow-gpu (tfjs-node-gpu, only when a GPU is visible and TF really uses it)
 * → webgpu (tfjs-backend-webgpu on Dawn, only on a hardware adapter; see webgpu.ts) → tensorflow (tfjs-node, native libtensorflow on CPU) → wasm (XNNPACK, SIMD) → cpu (pure JS).
 * tfjs-node and tfjs-node-gpu are optionalDependencies. Their own install script (which downloads
 * libtensorflow 2.9 from Google's CDN) is disabled; `npm run setup:native` (the root postinstall) builds
 * the addon against TensorFlow 2.21 from PyPI/Maven instead, so tfjs-node is normally present and
 * tfjs-node-gpu only after `setup:native -- --gpu`. Where that build could not run, the package sits in
 * node_modules without its addon (see nativeBackendStatus in native-check.ts). Either way they are
 * loaded through a guarded dynamic import() and a failing load just moves on to the next candidate.
 * A backend named explicitly must load or the call fails.
 *
 * GPU run time: our setup:native build of tfjs-node-gpu needs an NVIDIA driver ≥ 525 with CUDA 12
 * (≥ 12.5) and cuDNN 9 (≥ 9.3) libraries on the library path; the upstream prebuilt addon (stock
 * tfjs-node-gpu 4.22, libtensorflow 2.9) needs CUDA 11.2 + cuDNN 8.1. Without them TensorFlow silently
 * runs on the CPU, which the isUsingGpuDevice check below turns into a skipped candidate.
 *
 * wasm in Node: SIMD yes (WASM_HAS_SIMD_SUPPORT true on Node 20); threads no — tfjs hard-codes
 * WASM_HAS_MULTITHREAD_SUPPORT=false under Node (tensorflow/tfjs#3830) and the threaded build spawns
 * workers from blob: URLs, which node:worker_threads rejects. So wasm runs on one core.
 */

// The names live in a tfjs-free module (CLI start-up imports them); re-exported here for existing importers.
export { AUTO_ORDER, BACKEND_CHOICES, type BackendChoice, type BackendKind } from './choices.ts';

export class BackendUnavailableError extends PrismError {
  constructor(kind: BackendKind, reason: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', `tfjs backend '${kind}' is not usable: ${reason}`, {
      ...options,
      exitCode: 2,
    });
  }
}

export interface BackendAttempt {
  kind: BackendKind;
  ok: boolean;
  reason?: string;
}

export interface BackendInfo {
  /** What we selected. */
  kind: BackendKind;
  /** tf.getBackend() after selection ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  gpu: boolean;
  /** wasm only. */
  simd?: boolean;
  /** wasm only: always false under Node (see module doc). */
  threads?: boolean;
  /** webgpu only: the adapter Dawn gave us (vendor, architecture, device, description). */
  adapter?: AdapterInfo;
  attempts: BackendAttempt[];
}

/** Side effects the selector needs; injectable so tests can simulate missing or broken packages. */
export interface BackendEnv {
  importModule(specifier: string): Promise<unknown>;
  gpuVisible(): boolean;
  /** The NVIDIA driver version (default: /proc/driver/nvidia/version). */
  driverVersion?(): string | undefined;
}

// A variable specifier keeps TypeScript and bundlers from resolving the optional packages statically.
const dynamicImport = (specifier: string): Promise<unknown> => import(specifier);

export const nodeBackendEnv: BackendEnv = {
  importModule: dynamicImport,
  gpuVisible: () => {
    const cuda = process.env.CUDA_VISIBLE_DEVICES;
    if (cuda !== undefined && (cuda.trim() === '' || cuda.trim() === '-1')) return false;
    return existsSync('/dev/nvidiactl') || existsSync('/proc/driver/nvidia/version');
  },
};

const PACKAGES: Partial<Record<BackendKind, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

const TF_NAME: Record<BackendKind, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

interface NativeBackendFlags {
  isUsingGpuDevice?: boolean;
}

/** A 2×2 gradient whose answer we know: d/dW sum(x·W) = xᵀ·1. Catches backends that load but cannot differentiate. */
async function gradientSmokeTest(): Promise<void> {
  const g = tf.tidy(() => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const w = tf.tensor2d([
      [0.5, -1],
      [2, 0.25],
    ]);
    return tf.grads((wv: tf.Tensor) => tf.sum(tf.matMul(x, wv)))([w])[0];
  });
  // Asynchronous read: webgpu has no synchronous one in Node.
  const v = await g.data();
  g.dispose();
  const want = [4, 4, 6, 6];
  if (!want.every((e, i) => Math.abs(v[i] - e) < 1e-5))
    throw new Error(`gradient smoke test returned wrong values [${Array.from(v).join(', ')}]`);
}

async function tryBackend(
  kind: BackendKind,
  env: BackendEnv,
  asyncReads: boolean,
): Promise<Omit<BackendInfo, 'attempts'>> {
  if (kind === 'webgpu' && !asyncReads) {
    throw new Error(
      'this command reads tensors synchronously (dataSync), which the webgpu backend cannot do in Node; ' +
        'prism score, prism run and the GPU check (scripts/gpu/) read asynchronously and can use it',
    );
  }
  if (kind === 'tensorflow-gpu' && !env.gpuVisible()) {
    throw new Error('no NVIDIA GPU visible (/dev/nvidiactl missing or CUDA_VISIBLE_DEVICES empty)');
  }
  // Set by bin/prism.mjs when it re-executed with the CUDA 12 libraries from PyPI (setup:native --cuda-from-pypi).
  const minDriver = process.env.PRISM_CUDA_MIN_DRIVER;
  if (kind === 'tensorflow-gpu' && minDriver !== undefined && minDriver !== '') {
    const found = (env.driverVersion ?? installedDriverVersion)();
    if (found !== undefined) assertDriver(found, minDriver);
  }
  let adapter: AdapterInfo | undefined;
  if (kind === 'webgpu') {
    try {
      adapter = (await initWebgpu(env)).adapter;
    } catch (err) {
      throw new Error(`webgpu: ${errorMessage(err).split('\n')[0]}`, { cause: err });
    }
  }
  const pkg = PACKAGES[kind];
  if (pkg !== undefined) {
    try {
      await env.importModule(pkg);
    } catch (err) {
      throw new Error(`cannot load ${pkg} (${errorMessage(err).split('\n')[0]})`, { cause: err });
    }
  }
  const name = TF_NAME[kind];
  if (tf.findBackendFactory(name) === null) {
    // Happens when the package registered itself on a second copy of @tensorflow/tfjs-core.
    throw new Error(
      `${pkg ?? 'tfjs'} did not register backend '${name}' on this @tensorflow/tfjs-core (version mismatch?)`,
    );
  }
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed to initialise`);
  await tf.ready();
  let gpu = false;
  if (kind === 'tensorflow-gpu') {
    gpu = (tf.backend() as unknown as NativeBackendFlags).isUsingGpuDevice === true;
    // tfjs-node-gpu silently runs on CPU when the CUDA/cuDNN libraries its libtensorflow needs are missing.
    if (!gpu)
      throw new Error(
        'tfjs-node-gpu loaded but TensorFlow found no usable GPU (the setup:native build needs CUDA 12 ≥ 12.5 ' +
          'and cuDNN 9 ≥ 9.3 on LD_LIBRARY_PATH; the upstream prebuilt addon needs CUDA 11.2 + cuDNN 8.1)',
      );
  }
  if (adapter !== undefined) gpu = true;
  await gradientSmokeTest();
  const info: Omit<BackendInfo, 'attempts'> = { kind, tfBackend: tf.getBackend(), gpu };
  if (adapter !== undefined) info.adapter = adapter;
  if (kind === 'wasm') {
    info.simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    info.threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  }
  return info;
}

export interface SelectBackendOptions {
  env?: BackendEnv;
  logger?: Logger;
  /**
   * The caller reads tensors only with `await t.data()`. webgpu in Node has no synchronous read
   * (see webgpu.ts), so without this it is skipped (auto) or refused (explicit choice) up front,
   * rather than failing at the first dataSync().
   */
  asyncReads?: boolean;
}

/**
 * Selects and initialises a tfjs backend. `auto` walks AUTO_ORDER and keeps the first that works;
 * any other choice must work or a BackendUnavailableError (exit 2) is thrown. The choice is logged.
 */
export async function selectBackend(
  choice: BackendChoice = 'auto',
  opts: SelectBackendOptions = {},
): Promise<BackendInfo> {
  const env = opts.env ?? nodeBackendEnv;
  const logger = (opts.logger ?? rootLog).child({ component: 'backend' });
  const candidates = choice === 'auto' ? AUTO_ORDER : [choice];
  const attempts: BackendAttempt[] = [];
  for (const kind of candidates) {
    try {
      const info: BackendInfo = {
        ...(await tryBackend(kind, env, opts.asyncReads === true)),
        attempts: [...attempts, { kind, ok: true }],
      };
      const on = info.adapter !== undefined ? ` on ${describeAdapter(info.adapter)}` : '';
      logger.info({ choice, ...info }, `tfjs backend: ${kind}${on}`);
      return info;
    } catch (err) {
      const reason = errorMessage(err);
      attempts.push({ kind, ok: false, reason });
      if (choice !== 'auto') throw new BackendUnavailableError(kind, reason, { cause: err });
      logger.debug({ kind, reason }, 'backend candidate skipped');
    }
  }
  // Unreachable in practice: the pure-JS cpu backend ships with @tensorflow/tfjs.
  throw new BackendUnavailableError(
    'cpu',
    `no backend works: ${attempts.map((a) => `${a.kind}: ${a.reason}`).join('; ')}`,
  );
}
