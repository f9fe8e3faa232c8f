import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeAvailable, runChild } from './native-child.ts';

const child = fileURLToPath(new URL('./model-load-child.ts', import.meta.url));

describe('loadModel on the native backend', () => {
  it('leaves the weights in TensorFlow only, not also as JS arrays', async (ctx) => {
    // tfjs-node keeps a tensor's JS values until an op first reads it; the cpu/wasm backends always do.
    if (!(await nativeAvailable())) ctx.skip();
    const r = await runChild<{
      weightBytes: number;
      arrayBuffers: number;
      finite: number;
    }>(child);
    expect(r.finite).toBe(1);
    expect(r.weightBytes).toBeGreaterThan(50 * 2 ** 20);
    expect(r.arrayBuffers).toBeLessThan(0.1 * r.weightBytes);
  });
});
