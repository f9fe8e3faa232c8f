import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  isSoftwareAdapter,
  selectBackend,
  type AdapterInfo,
  type BackendEnv,
} from '../../src/backend/index.ts';
import { describeAdapter } from '../../src/backend/webgpu.ts';

const quiet = pino({ level: 'silent' });

const info = (o: Partial<AdapterInfo>): AdapterInfo => ({
  vendor: '',
  architecture: '',
  device: '',
  description: '',
  fallback: false,
  ...o,
});

/** A fake `webgpu` (Dawn) module whose requestAdapter returns the given adapter. */
function fakeDawn(adapter: unknown): { create: () => unknown; globals: Record<string, unknown> } {
  return { create: () => ({ requestAdapter: async () => adapter }), globals: {} };
}

function envWith(dawn: unknown, imported: string[] = []): BackendEnv {
  return {
    gpuVisible: () => false,
    importModule: async (spec) => {
      imported.push(spec);
      if (spec === 'webgpu') return dawn;
      throw Object.assign(new Error(`Cannot find package '${spec}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    },
  };
}

describe('webgpu adapter classification', () => {
  it('rejects software and fallback adapters, accepts real GPUs', () => {
    expect(isSoftwareAdapter(info({ vendor: 'google', description: 'SwiftShader Device (Subzero)' }))).toBe(
      true,
    );
    expect(isSoftwareAdapter(info({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }))).toBe(true);
    expect(isSoftwareAdapter(info({ vendor: 'mesa', device: 'lavapipe' }))).toBe(true);
    expect(isSoftwareAdapter(info({ vendor: 'nvidia', fallback: true }))).toBe(true);
    expect(
      isSoftwareAdapter(info({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })),
    ).toBe(false);
    expect(
      describeAdapter(info({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })),
    ).toBe('nvidia hopper · NVIDIA H200');
  });
});

describe('selectBackend with webgpu', () => {
  afterEach(async () => {
    await tf.setBackend('cpu');
  });

  it('skips webgpu when Dawn finds no adapter and says why', async () => {
    const r = await selectBackend('auto', { env: envWith(fakeDawn(null)), logger: quiet, asyncReads: true });
    expect(r.kind).toBe('cpu');
    const w = r.attempts.find((a) => a.kind === 'webgpu');
    expect(w?.ok).toBe(false);
    expect(w?.reason).toMatch(/no WebGPU adapter.*VK_DRIVER_FILES/);
  });

  it('refuses a software adapter before loading tfjs-backend-webgpu', async () => {
    const imported: string[] = [];
    const swiftshader = {
      info: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device' },
      features: new Set<string>(),
      limits: {},
      requestDevice: async () => ({}),
    };
    const err = await selectBackend('webgpu', {
      env: envWith(fakeDawn(swiftshader), imported),
      logger: quiet,
      asyncReads: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(String(err)).toMatch(/software\/CPU one .*SwiftShader/);
    expect(imported).toEqual(['webgpu']);
  });

  it('refuses an explicit webgpu for callers that read synchronously', async () => {
    const imported: string[] = [];
    const err = await selectBackend('webgpu', {
      env: envWith(fakeDawn(null), imported),
      logger: quiet,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(String(err)).toMatch(/synchronously/);
    expect(imported).toEqual([]);
  });

  it('loads the real Dawn binding here and falls back when it finds no hardware adapter', async (ctx) => {
    const env: BackendEnv = { gpuVisible: () => false, importModule: (s) => import(s) };
    const r = await selectBackend('auto', { env, logger: quiet, asyncReads: true });
    const w = r.attempts.find((a) => a.kind === 'webgpu');
    if (w?.ok === true) {
      ctx.skip(); // a machine with a real GPU adapter: covered by backend-agreement instead
      return;
    }
    expect(w?.reason).toMatch(/^webgpu: /);
    expect(w?.reason).not.toMatch(/Cannot find package/);
  });
});
