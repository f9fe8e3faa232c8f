import type { Phase } from './summary.ts';

/** Wall-clock seconds per phase of the demo, in the order they ended. */
export class Phases {
  readonly list: Phase[] = [];

  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    try {
      return await fn();
    } finally {
      this.list.push({ name, seconds: (Date.now() - t0) / 1000 });
    }
  }
}

/** Both results, or the first failure once *both* settled (so nothing is left half-started). */
export async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}
