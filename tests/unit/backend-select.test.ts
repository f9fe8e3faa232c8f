import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendUnavailableError, selectBackend, type BackendEnv } from '../../src/backend/index.ts';

const quiet = pino({ level: 'silent' });
const notInstalled = (spec: string): Error =>
  Object.assign(new Error(`Cannot find package '${spec}'`), { code: 'ERR_MODULE_NOT_FOUND' });

/** Simulates what importing tfjs-node(-gpu) does: register a 'tensorflow' backend with working kernels. */
function fakeNativePackage(usingGpu: boolean): () => void {
  return () => {
    const cpuFactory = tf.findBackendFactory('cpu') as () => tf.KernelBackend;
    tf.registerBackend('tensorflow', () => Object.assign(cpuFactory(), { isUsingGpuDevice: usingGpu }));
    for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'tensorflow' });
  };
}

function cleanupFakeNative(): void {
  if (tf.findBackendFactory('tensorflow') === null) return;
  for (const k of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(k.kernelName, 'tensorflow');
  tf.removeBackend('tensorflow');
}

describe('selectBackend', () => {
  afterEach(async () => {
    await tf.setBackend('cpu');
    cleanupFakeNative();
  });

  it('falls back past missing tfjs-node packages to wasm and records why', async () => {
    const imported: string[] = [];
    const env: BackendEnv = {
      gpuVisible: () => true,
      importModule: async (spec) => {
        imported.push(spec);
        if (spec.includes('tfjs-node')) throw notInstalled(spec);
        return import(spec);
      },
    };
    const info = await selectBackend('auto', { env, logger: quiet });
    expect(info.kind).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.threads).toBe(false);
    expect(imported).toEqual([
      '@tensorflow/tfjs-node-gpu',
      '@tensorflow/tfjs-node',
      '@tensorflow/tfjs-backend-wasm',
    ]);
    expect(info.attempts.map((a) => [a.kind, a.ok])).toEqual([
      ['tensorflow-gpu', false],
      ['webgpu', false],
      ['tensorflow', false],
      ['wasm', true],
    ]);
    // Without asyncReads the webgpu candidate is skipped before anything is imported.
    expect(info.attempts[1].reason).toMatch(/synchronously/);
  });

  it('does not even load tfjs-node-gpu when no GPU is visible', async () => {
    const imported: string[] = [];
    const env: BackendEnv = {
      gpuVisible: () => false,
      importModule: async (spec) => {
        imported.push(spec);
        throw notInstalled(spec);
      },
    };
    const info = await selectBackend('auto', { env, logger: quiet });
    expect(info.kind).toBe('cpu');
    expect(imported).not.toContain('@tensorflow/tfjs-node-gpu');
    expect(info.attempts[0].reason).toMatch(/no NVIDIA GPU visible/);
  });

  it('takes tfjs-node-gpu when it loads and TensorFlow reports a GPU device', async () => {
    const env: BackendEnv = {
      gpuVisible: () => true,
      importModule: async (spec) => {
        if (spec === '@tensorflow/tfjs-node-gpu') return fakeNativePackage(true)();
        throw notInstalled(spec);
      },
    };
    const info = await selectBackend('auto', { env, logger: quiet });
    expect(info).toMatchObject({ kind: 'tensorflow-gpu', tfBackend: 'tensorflow', gpu: true });
  });

  it('rejects tfjs-node-gpu that silently runs on CPU and moves on', async () => {
    const env: BackendEnv = {
      gpuVisible: () => true,
      importModule: async (spec) => {
        if (spec === '@tensorflow/tfjs-node-gpu') return fakeNativePackage(false)();
        if (spec === '@tensorflow/tfjs-node') return undefined; // already registered by the gpu package
        throw notInstalled(spec);
      },
    };
    const info = await selectBackend('auto', { env, logger: quiet });
    expect(info.kind).toBe('tensorflow');
    expect(info.attempts[0].reason).toMatch(/no usable GPU/);
  });

  it('fails with a typed error when an explicitly requested backend is missing', async () => {
    const env: BackendEnv = {
      gpuVisible: () => false,
      importModule: async (spec) => Promise.reject(notInstalled(spec)),
    };
    await expect(selectBackend('tensorflow', { env, logger: quiet })).rejects.toBeInstanceOf(
      BackendUnavailableError,
    );
    await expect(selectBackend('tensorflow', { env, logger: quiet })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      exitCode: 2,
    });
  });

  it('honours an explicit cpu choice', async () => {
    const info = await selectBackend('cpu', { logger: quiet });
    expect(info).toMatchObject({ kind: 'cpu', tfBackend: 'cpu', gpu: false });
  });
});
