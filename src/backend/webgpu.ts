import * as tf from '@tensorflow/tfjs';
import { PrismError } from '../errors.ts';

/**
 * The `webgpu` backend in Node: @tensorflow/tfjs-backend-webgpu 4.22 on Dawn's Node binding (the
 * `webgpu` npm package, `dist/linux-x64/dawn.node`; Dawn reaches the GPU through Vulkan on Linux).
 * Both are optional dependencies, imported only here and only when the backend is tried.
 *
 * - The adapter must be a real GPU: Dawn's CPU adapters (SwiftShader, llvmpipe/lavapipe, fallback
 *   adapters) are rejected, so CPU numbers are never reported as GPU numbers.
 * - tfjs-backend-webgpu registers itself only when `navigator.gpu` exists at import time; Node 20 has
 *   no navigator, so we install `{ gpu }` first, then register our own factory on the adapter we
 *   checked (same device limits as the package's own factory: the adapter's maxima).
 * - WebGPU has no synchronous buffer read, and tfjs's webgpu readSync needs OffscreenCanvas, which Node
 *   lacks: `dataSync()` on an un-downloaded tensor throws WEBGPU_SYNC_READ here. Code that runs on
 *   webgpu must read with `await t.data()`.
 */

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  fallback: boolean;
}

export class WebgpuError extends PrismError {
  constructor(code: 'WEBGPU_NO_ADAPTER' | 'WEBGPU_SOFTWARE_ADAPTER' | 'WEBGPU_SYNC_READ', message: string) {
    super(code, message, { exitCode: 2 });
  }
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

/** True for Dawn's CPU adapters and anything that says it is a software rasteriser. Pure. */
export function isSoftwareAdapter(info: AdapterInfo): boolean {
  if (info.fallback) return true;
  return SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/** One line for logs and errors: "nvidia hopper · NVIDIA H200 (…)". */
export function describeAdapter(info: AdapterInfo): string {
  const head = [info.vendor, info.architecture].filter((s) => s !== '').join(' ');
  const tail = [info.device, info.description].filter((s) => s !== '').join(' · ');
  return [head, tail].filter((s) => s !== '').join(' · ') || '(adapter gave no name)';
}

/** The subset of the WebGPU API we touch (the `webgpu` package ships the full types; it is optional). */
interface GpuAdapterLike {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & {
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(desc: unknown): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(opts?: unknown): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
type WebgpuBackendCtor = new (device: unknown, adapterInfo: unknown) => tf.KernelBackend;

export function adapterInfoOf(a: GpuAdapterLike): AdapterInfo {
  const i = a.info ?? {};
  return {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    fallback: i.isFallbackAdapter === true || a.isFallbackAdapter === true,
  };
}

/** Dawn flags from PRISM_WEBGPU_DAWN_FLAGS, semicolon-separated (e.g. "backend=vulkan;adapter=NVIDIA H200"). */
function dawnFlags(): string[] {
  const raw = process.env.PRISM_WEBGPU_DAWN_FLAGS ?? '';
  return raw
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function installGlobals(dawn: DawnModule, gpu: GpuLike): void {
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(dawn.globals)) if (g[k] === undefined) g[k] = v;
  const nav = g.navigator as { gpu?: unknown } | undefined;
  if (nav?.gpu === undefined) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...(nav ?? {}), gpu },
      configurable: true,
      writable: true,
    });
  }
}

/** The device limits the package's own factory asks for: the adapter's maxima. */
function deviceDescriptor(a: GpuAdapterLike): unknown {
  const keys = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ];
  const requiredLimits = Object.fromEntries(keys.map((k) => [k, a.limits[k]]));
  const requiredFeatures = a.features.has('timestamp-query') ? ['timestamp-query'] : [];
  return { requiredLimits, requiredFeatures };
}

/** Make dataSync() fail with an actionable typed error instead of "OffscreenCanvas is not defined". */
function guardSyncReads(ctor: WebgpuBackendCtor): void {
  const proto = ctor.prototype as { readSync: (id: unknown) => unknown; __prismGuarded?: boolean };
  if (proto.__prismGuarded === true) return;
  const original = proto.readSync;
  proto.readSync = function (this: unknown, dataId: unknown): unknown {
    if (typeof (globalThis as Record<string, unknown>).OffscreenCanvas !== 'undefined')
      return original.call(this, dataId);
    const map = (this as { tensorMap: { get(id: unknown): { values?: unknown; dtype: string } } }).tensorMap;
    const d = map.get(dataId);
    if (d.values != null || d.dtype === 'string') return d.values;
    throw new WebgpuError(
      'WEBGPU_SYNC_READ',
      'the webgpu backend cannot read GPU data synchronously in Node (dataSync/arraySync): read with await tensor.data()',
    );
  };
  proto.__prismGuarded = true;
}

export interface WebgpuInit {
  adapter: AdapterInfo;
}

export interface WebgpuImports {
  importModule(specifier: string): Promise<unknown>;
}

function moduleDefault<T>(m: unknown): T {
  const mod = m as { default?: unknown };
  return (mod.default !== undefined && typeof mod.default === 'object' ? mod.default : m) as T;
}

interface Opened {
  dawn: DawnModule;
  gpu: GpuLike;
  adapter: GpuAdapterLike;
  info: AdapterInfo;
}

/** Loads Dawn and returns its high-performance adapter if it is real hardware; throws a WebgpuError otherwise. */
async function openAdapter(imports: WebgpuImports): Promise<Opened> {
  const dawn = moduleDefault<DawnModule>(await imports.importModule('webgpu'));
  const gpu = dawn.create(dawnFlags());
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new WebgpuError(
      'WEBGPU_NO_ADAPTER',
      "Dawn found no WebGPU adapter: is the Vulkan loader installed (ldconfig -p | grep libvulkan) and the GPU driver's Vulkan ICD visible (try VK_DRIVER_FILES=/usr/share/vulkan/icd.d/nvidia_icd.json)?",
    );
  }
  const info = adapterInfoOf(adapter);
  if (isSoftwareAdapter(info)) {
    throw new WebgpuError(
      'WEBGPU_SOFTWARE_ADAPTER',
      `Dawn's adapter is a software/CPU one (${describeAdapter(info)}), not a GPU: refusing it`,
    );
  }
  return { dawn, gpu, adapter, info };
}

/** Is there a hardware WebGPU adapter here? Registers nothing (tests use it to decide whether to run). */
export async function probeWebgpu(
  imports: WebgpuImports,
): Promise<{ ok: true; adapter: AdapterInfo } | { ok: false; reason: string }> {
  try {
    return { ok: true, adapter: (await openAdapter(imports)).info };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}

/**
 * Loads Dawn, picks a hardware adapter, opens a device with the adapter's limits and registers tfjs's
 * `webgpu` backend on it. Throws (WEBGPU_NO_ADAPTER / WEBGPU_SOFTWARE_ADAPTER, or the import error)
 * when that is not possible; selectBackend then moves on.
 */
export async function initWebgpu(imports: WebgpuImports): Promise<WebgpuInit> {
  const { dawn, gpu, adapter, info } = await openAdapter(imports);
  installGlobals(dawn, gpu);
  const pkg = moduleDefault<{ WebGPUBackend: WebgpuBackendCtor }>(
    await imports.importModule('@tensorflow/tfjs-backend-webgpu'),
  );
  const device = await adapter.requestDevice(deviceDescriptor(adapter));
  guardSyncReads(pkg.WebGPUBackend);
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new pkg.WebGPUBackend(device, adapter.info), 3);
  return { adapter: info };
}
