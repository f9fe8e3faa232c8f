/**
 * Ctrl-C during `prism demo`: trainers, arbitrator and broker are stopped before it exits 130.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, processesMentioning, startDemo, waitFor } from './demo-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-demo-int-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prism demo interrupted', () => {
  it('stops everything it started on SIGINT and exits 130', async () => {
    const demo = startDemo(['--quick', '--work-dir', dir]);
    try {
      // Interrupt while records flow: broker, trainers and arbitrator are all up.
      await waitFor(
        'the stream to start',
        () => demo.stderr().includes('▸ producing') || demo.child.exitCode !== null,
        600_000,
      );
      const pid = /broker ready at \S+ \(pid (\d+)/.exec(demo.stderr())?.[1];
      expect(pid, demo.stderr().slice(-3000)).toBeDefined();
      demo.child.kill('SIGINT');
      const code = await demo.exited;
      expect(code, demo.stderr().slice(-3000)).toBe(130);
      expect(demo.stderr()).toContain('stopping trainers, arbitrator and broker');
      expect(alive(Number(pid))).toBe(false);
      expect(processesMentioning(`broker-${demo.child.pid}`)).toEqual([]);
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  }, 900_000);
});
