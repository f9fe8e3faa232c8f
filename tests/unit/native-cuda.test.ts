/**
 * `setup:native -- --gpu --cuda-from-pypi` without downloading gigabytes: the pinned manifest, hash pinning
 * and extraction (on a small stand-in wheel), bin/prism.mjs's re-exec decision, signal and exit-code
 * forwarding through the re-exec, and the driver-too-old fallback in backend selection.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { CudaDriverError, assertDriver, parseDriverVersion } from '../../src/backend/cuda-driver.ts';
import { selectBackend, type BackendEnv } from '../../src/backend/index.ts';
// @ts-expect-error plain ESM helpers without type declarations
import { reexecEnv, wantsTensorflowGpu } from '../../src/backend/cuda-reexec.mjs';
// @ts-expect-error plain ESM helpers without type declarations
import { cudaEnvFile, ensureCudaLibs, readCudaManifest, wheelArtifact } from '../../scripts/native/cuda.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'prism-cuda-'));
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await tf.setBackend('cpu');
});

interface Wheel {
  name: string;
  version: string;
  file: string;
  sha256: string;
  platform: string;
}

describe('cuda-wheels.json', () => {
  const m = readCudaManifest() as { tensorflow: string; minDriver: string; wheels: Wheel[] };
  it('pins every CUDA 12 library TensorFlow 2.21 loads, by file and sha256', () => {
    expect(m.tensorflow).toBe('2.21.0');
    expect(m.minDriver).toBe('525.60.13');
    const names = m.wheels.map((w) => w.name);
    for (const lib of [
      'cuda-runtime',
      'cublas',
      'cudnn',
      'cufft',
      'cusparse',
      'cusolver',
      'curand',
      'nvjitlink',
    ])
      expect(names).toContain(`nvidia-${lib}-cu12`);
    for (const w of m.wheels) {
      expect(w.name).toMatch(/^nvidia-[a-z-]+-cu12$/);
      expect(w.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(w.file.startsWith(`${w.name.replace(/-/g, '_')}-${w.version}-py3-none-`)).toBe(true);
      expect(w.file.endsWith(`${w.platform}.whl`)).toBe(true);
    }
    expect(m.wheels.find((w) => w.name === 'nvidia-cudnn-cu12')?.version).toMatch(/^9\./);
    const a = wheelArtifact(m.wheels[0], '3.12') as { fetch: { requirement: string; abi: string } };
    expect(a.fetch.requirement).toBe(`${m.wheels[0].name}==${m.wheels[0].version}`);
    expect(a.fetch.abi).toBe('none');
  });
});

describe('ensureCudaLibs (a small stand-in wheel, --offline)', () => {
  const cache = join(tmp, 'cache');
  const file = 'nvidia_fake_cu12-1.0-py3-none-manylinux_2_17_x86_64.whl';
  mkdirSync(join(cache, 'downloads'), { recursive: true });
  const zip = join(cache, 'downloads', file);
  spawnSync('python3', [
    '-c',
    'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], "w")\nz.writestr("nvidia/fake/lib/libfake.so.12", b"x")\nz.writestr("nvidia/fake/include/fake.h", b"h")\nz.close()',
    zip,
  ]);
  const sha = createHash('sha256').update(readFileSync(zip)).digest('hex');
  const wheel = {
    name: 'nvidia-fake-cu12',
    version: '1.0',
    file,
    sha256: sha,
    platform: 'manylinux_2_17_x86_64',
  };
  const manifest = {
    tensorflow: '0.0-test',
    cuda: '12.9',
    minDriver: '525.60.13',
    pythonVersion: '3.12',
    wheels: [wheel],
  };

  it('refuses a cached wheel whose sha256 differs from the pin', async () => {
    const bad = { ...manifest, tensorflow: '0.0-bad', wheels: [{ ...wheel, sha256: '0'.repeat(64) }] };
    const copy = readFileSync(zip);
    const err = await ensureCudaLibs(bad, cache, { offline: true, logFile: join(tmp, 'cuda.log') }).catch(
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).toBe('OFFLINE_CACHE_MISS');
    writeFileSync(zip, copy); // the mismatching file was removed; put it back for the next test
  });

  it('unpacks only the libraries and writes the env file bin/prism.mjs reads', async () => {
    const env = (await ensureCudaLibs(manifest, cache, {
      offline: true,
      logFile: join(tmp, 'cuda.log'),
    })) as {
      libDirs: string[];
      minDriver: string;
    };
    const libDir = join(cache, 'cuda', 'tf0.0-test', 'nvidia', 'fake', 'lib');
    expect(env.libDirs).toEqual([libDir]);
    expect(existsSync(join(libDir, 'libfake.so.12'))).toBe(true);
    expect(existsSync(join(cache, 'cuda', 'tf0.0-test', 'nvidia', 'fake', 'include'))).toBe(false);
    expect(JSON.parse(readFileSync(cudaEnvFile(cache), 'utf8'))).toMatchObject({
      libDirs: [libDir],
      minDriver: '525.60.13',
    });
  });
});

describe('bin/prism.mjs re-exec with the CUDA libraries', () => {
  const cudaEnv = { libDirs: ['/c/nvidia/cublas/lib', '/c/nvidia/cudnn/lib'], minDriver: '525.60.13' };

  it('re-executes only when tensorflow-gpu is asked for and the libraries are not on LD_LIBRARY_PATH yet', () => {
    expect(wantsTensorflowGpu(['score', '--backend', 'tensorflow-gpu'], {})).toBe(true);
    expect(wantsTensorflowGpu(['bench', 'scorer', '--backends=cpu,tensorflow-gpu'], {})).toBe(true);
    expect(wantsTensorflowGpu(['run', '--set', 'scorer.backend=tensorflow-gpu'], {})).toBe(true);
    expect(wantsTensorflowGpu(['run'], { PRISM_SCORER_BACKEND: 'tensorflow-gpu' })).toBe(true);
    expect(wantsTensorflowGpu(['score', '--backend', 'tensorflow'], {})).toBe(false);
    const env = reexecEnv(['score', '--backend', 'tensorflow-gpu'], { LD_LIBRARY_PATH: '/usr/x' }, cudaEnv);
    expect(env).toMatchObject({
      LD_LIBRARY_PATH: '/c/nvidia/cublas/lib:/c/nvidia/cudnn/lib:/usr/x',
      PRISM_CUDA_REEXEC: '1',
      PRISM_CUDA_MIN_DRIVER: '525.60.13',
    });
    expect(
      reexecEnv(['score', '--backend', 'tensorflow-gpu'], { PRISM_CUDA_REEXEC: '1' }, cudaEnv),
    ).toBeNull();
    expect(reexecEnv(['score', '--backend', 'tensorflow-gpu'], {}, null)).toBeNull();
    expect(reexecEnv(['score'], {}, cudaEnv)).toBeNull();
    const onPath = { LD_LIBRARY_PATH: cudaEnv.libDirs.join(':') };
    expect(reexecEnv(['score', '--backend', 'tensorflow-gpu'], onPath, cudaEnv)).toBeNull();
  });

  it('forwards SIGTERM to the child and exits with its code; passes a plain exit code through', async () => {
    const dir = mkdtempSync(join(tmp, 'sig-'));
    const ready = join(dir, 'ready');
    const mod = pathToFileURL(join(ROOT, 'src', 'backend', 'cuda-reexec.mjs')).href;
    const child = `process.on('SIGTERM', () => process.exit(42)); require('fs').writeFileSync(${JSON.stringify(ready)}, 'x'); setInterval(() => {}, 1000);`;
    const driver = `import { runChild } from ${JSON.stringify(mod)};\nprocess.exit(await runChild(['-e', ${JSON.stringify(child)}], process.env));`;
    writeFileSync(join(dir, 'driver.mjs'), driver);
    const p = spawn(process.execPath, [join(dir, 'driver.mjs')], { stdio: 'ignore' });
    const code = new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
    while (!existsSync(ready)) await new Promise((r) => setTimeout(r, 50));
    p.kill('SIGTERM');
    expect(await code).toBe(42);
    const plain = `import { runChild } from ${JSON.stringify(mod)};\nprocess.exit(await runChild(['-e', 'process.exit(7)'], process.env));`;
    writeFileSync(join(dir, 'plain.mjs'), plain);
    expect(spawnSync(process.execPath, [join(dir, 'plain.mjs')]).status).toBe(7);
  });
});

describe('NVIDIA driver too old for the CUDA 12 libraries', () => {
  it('parses the kernel module version and names found vs needed', () => {
    expect(
      parseDriverVersion('NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Thu Sep  4 2025\n'),
    ).toBe('580.95.05');
    expect(
      parseDriverVersion('NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  575.51.03  Release'),
    ).toBe('575.51.03');
    expect(() => assertDriver('580.95.05', '525.60.13')).not.toThrow();
    expect(() => assertDriver('470.82.01', '525.60.13')).toThrow(CudaDriverError);
    expect(() => assertDriver('525.60.2', '525.60.13')).toThrow(/525\.60\.2 is older than 525\.60\.13/);
  });

  it('makes tensorflow-gpu a skipped candidate with that reason, then the next backend', async () => {
    const imported: string[] = [];
    const env: BackendEnv = {
      gpuVisible: () => true,
      driverVersion: () => '470.82.01',
      importModule: async (spec) => {
        imported.push(spec);
        throw new Error(`Cannot find package '${spec}'`);
      },
    };
    process.env.PRISM_CUDA_MIN_DRIVER = '525.60.13';
    try {
      const r = await selectBackend('auto', { env, logger: pino({ level: 'silent' }) });
      expect(r.attempts[0]).toMatchObject({ kind: 'tensorflow-gpu', ok: false });
      expect(r.attempts[0].reason).toMatch(/NVIDIA driver 470\.82\.01 is older than 525\.60\.13/);
      expect(imported).not.toContain('@tensorflow/tfjs-node-gpu');
      expect(r.kind).toBe('cpu');
    } finally {
      delete process.env.PRISM_CUDA_MIN_DRIVER;
    }
  });
});
