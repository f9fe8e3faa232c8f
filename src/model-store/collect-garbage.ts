/**
 * A full V8 garbage collection, on demand. After a model is loaded, the float32 arrays its weights were
 * read into are garbage (TensorFlow holds its own copy), but V8 collects ArrayBuffers only when JS
 * allocates more; a scorer pass allocates almost nothing in JS, so up to a whole tensor (0.5 GB for a
 * 0.5 B model's embedding) stayed resident through the first pass. Node exposes `gc` only behind
 * --expose-gc; setting that flag at run time and taking `gc` from a fresh context is the approach Jest's
 * --logHeapUsage takes, and it changes nothing else.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
