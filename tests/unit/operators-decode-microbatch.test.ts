import { TestScheduler } from 'rxjs/testing';
import { firstValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { PrismError } from '../../src/errors.ts';
import { decode } from '../../src/operators/decode.ts';
import { microBatch } from '../../src/operators/micro-batch.ts';
import { sourceRecord, trajectory } from './operators-fixtures.ts';

const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('microBatch', () => {
  it('closes a batch when it is full', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const src = cold('abc|');
      expectObservable(src.pipe(microBatch(2, 100))).toBe('-b-(c|)', { b: ['a', 'b'], c: ['c'] });
    });
  });

  it('closes a partial batch after maxWait and never emits an empty one', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // idle ticks at 10, 20, 30 ms would be empty arrays without the filter
      const src = cold('a 45ms b 40ms |');
      expectObservable(src.pipe(microBatch(5, 10))).toBe('10ms x 39ms y 36ms |', { x: ['a'], y: ['b'] });
    });
  });

  it('flushes the partial batch on completion', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('ab|').pipe(microBatch(5, 100))).toBe('--(x|)', { x: ['a', 'b'] });
    });
  });

  it('emits nothing for an empty stream', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('50ms |').pipe(microBatch(5, 10))).toBe('50ms |');
    });
  });

  it('rejects a non-positive size', () => {
    expect(() => microBatch(0, 10)).toThrow(RangeError);
  });
});

describe('decode', () => {
  const decoder = (value: Buffer | null) => {
    if (value === null) throw new PrismError('DECODE_EMPTY', 'empty');
    const s = value.toString();
    if (s === 'junk') throw new Error('boom');
    return trajectory(s);
  };

  it('keeps order and turns failures into failed items with their reason code', async () => {
    const out = await firstValueFrom(
      of(sourceRecord(0), sourceRecord(1, null), sourceRecord(2, 'junk'), sourceRecord(3)).pipe(
        decode(decoder),
        toArray(),
      ),
    );
    expect(out.map((r) => r.kind)).toEqual(['decoded', 'failed', 'failed', 'decoded']);
    expect(out.map((r) => r.source.offset)).toEqual(['0', '1', '2', '3']);
    const [, empty, junk] = out;
    expect(empty.kind === 'failed' && empty.error.code).toBe('DECODE_EMPTY');
    expect(junk.kind === 'failed' && junk.error.code).toBe('UNEXPECTED_ERROR');
    expect(junk.kind === 'failed' && junk.stage).toBe('decode');
  });

  it('errors the stream for infrastructure failures instead of dead-lettering', async () => {
    const down = () => {
      throw new PrismError('REGISTRY_UNREACHABLE', 'registry down');
    };
    const out = firstValueFrom(
      of(sourceRecord(0)).pipe(
        decode(down, { isFatal: (e) => e instanceof PrismError && e.code === 'REGISTRY_UNREACHABLE' }),
      ),
    );
    await expect(out).rejects.toThrow(/registry down/);
  });
});
