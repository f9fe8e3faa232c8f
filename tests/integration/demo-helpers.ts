/**
 * Runs `prism demo` as a child process (not a test file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntil } from './helpers/wait.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface DemoChild {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Exit code (128 + n for a signal). */
  readonly exited: Promise<number>;
}

export function startDemo(args: readonly string[]): DemoChild {
  // PRISM_KAFKA_BROKERS (the test broker's address) stays set: the demo must ignore it.
  const { PRISM_LOG_LEVEL: _level, ...env } = process.env;
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'prism.mjs'), 'demo', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : 15)));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  await waitUntil({ what, check: () => cond() || 'condition not met', budgetMs: timeoutMs });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie has exited; only its parent has not reaped it yet.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids whose command line mentions `needle` (Linux /proc). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle) && alive(Number(name)))
        pids.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
