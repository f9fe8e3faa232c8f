import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FATAL_EXIT_CODE, installFatalHandler } from '../../src/lifecycle/fatal.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

function setup(onFatal?: (err: Error) => Promise<void> | void, cleanupTimeoutMs = 5000) {
  const target = new EventEmitter();
  const { log, lines } = capture();
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((r) => (resolveExit = r));
  const uninstall = installFatalHandler({
    log,
    processName: 'prism run',
    onFatal,
    cleanupTimeoutMs,
    exit: (code) => resolveExit(code),
    target: target as unknown as NodeJS.Process,
  });
  return { target, lines, exited, uninstall };
}

describe('installFatalHandler (last resort)', () => {
  it('logs an uncaught exception at fatal level with its stack, aborts (onFatal) and then exits non-zero', async () => {
    const order: string[] = [];
    const { target, lines, exited } = setup(async (err) => {
      order.push(`abort: ${err.message}`);
    });
    const boom = new Error('Consumer group was not initialized, consumer#run must be called first');
    target.emit('uncaughtException', boom);
    const code = await exited;
    order.push(`exit ${code}`);
    expect(code).toBe(FATAL_EXIT_CODE);
    expect(code).not.toBe(0);
    expect(order).toEqual([`abort: ${boom.message}`, `exit ${FATAL_EXIT_CODE}`]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 60, kind: 'uncaughtException', process: 'prism run' });
    const err = lines[0]?.err as { message: string; stack: string };
    expect(err.message).toBe(boom.message);
    expect(err.stack).toContain('lifecycle-fatal.test.ts');
  });

  it('handles an unhandled rejection of a non-Error, and exits even when the cleanup hangs', async () => {
    const { target, lines, exited } = setup(() => new Promise(() => undefined), 50);
    target.emit('unhandledRejection', 'plain string');
    expect(await exited).toBe(FATAL_EXIT_CODE);
    expect(lines[0]).toMatchObject({ kind: 'unhandledRejection' });
    expect((lines[0]?.err as { message: string }).message).toMatch(/plain string/);
  });

  it('uninstalls', () => {
    const { target, uninstall } = setup();
    expect(target.listenerCount('uncaughtException')).toBe(1);
    uninstall();
    expect(target.listenerCount('uncaughtException')).toBe(0);
    expect(target.listenerCount('unhandledRejection')).toBe(0);
  });
});
