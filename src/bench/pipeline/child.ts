import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from '../errors.ts';
import { repoRoot } from '../paths.ts';
import { procMemory } from './proc.ts';

export interface MemorySample {
  /** ms since the child started. */
  t: number;
  rssBytes: number;
}

export interface BenchChild {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last ~64 KiB of the child's stderr (its JSON logs), for error messages. */
  stderrTail(): string;
  /** The `msg` of every JSON log line whose msg matches `opts.keep` (e.g. the backend and scorer path chosen). */
  keptMessages(): string[];
  /** True once the child has exited. */
  hasExited(): boolean;
  /** VmRSS samples taken every `sampleMs` while the child runs. */
  readonly samples: MemorySample[];
  /** Largest VmHWM (peak RSS) seen so far, bytes. */
  peakRssBytes(): number;
  /** Fails with CHILD_FAILED if the child has exited. */
  assertAlive(what: string): void;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves once it has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const TAIL = 64 * 1024;

/**
 * Starts `node bin/prism.mjs <args>` as a child (the way an operator runs it: honest RSS, its own
 * event loop and tfjs engine) and samples /proc/<pid>/status every `sampleMs`.
 */
export function startPrismChild(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; sampleMs?: number; label: string; keep?: RegExp },
): BenchChild {
  const root = repoRoot();
  const child: ChildProcess = spawn(process.execPath, [join(root, 'bin', 'prism.mjs'), ...args], {
    cwd: root,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.pid === undefined) throw new BenchError('CHILD_FAILED', `could not start ${opts.label}`);
  const pid = child.pid;
  // PRISM_BENCH_CHILD_LOGS=<dir>: keep each child's full stderr (JSON logs) for debugging a run.
  const logDir = process.env.PRISM_BENCH_CHILD_LOGS;
  if (logDir !== undefined && logDir !== '') {
    mkdirSync(logDir, { recursive: true });
    child.stderr?.pipe(createWriteStream(join(logDir, `${opts.label.replace(/[^\w.-]+/g, '_')}-${pid}.log`)));
  }
  let tail = '';
  let partial = '';
  const kept: string[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    tail = (tail + text).slice(-TAIL);
    if (opts.keep === undefined) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const msg = (JSON.parse(line) as { msg?: unknown }).msg;
        if (typeof msg === 'string' && opts.keep.test(msg)) kept.push(msg);
      } catch {
        // not a JSON log line
      }
    }
  });
  let exited = false;
  const exitedP = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    });
  });
  const t0 = Date.now();
  const samples: MemorySample[] = [];
  let peak = 0;
  const sample = (): void => {
    const m = procMemory(pid);
    if (m === undefined) return;
    samples.push({ t: Date.now() - t0, rssBytes: m.rssBytes });
    peak = Math.max(peak, m.hwmBytes);
  };
  const timer = setInterval(sample, opts.sampleMs ?? 250);
  timer.unref();
  void exitedP.then(() => clearInterval(timer));

  return {
    pid,
    exited: exitedP,
    stderrTail: () => tail,
    keptMessages: () => [...kept],
    hasExited: () => exited,
    samples,
    peakRssBytes: () => {
      if (!exited) sample();
      return peak;
    },
    assertAlive(what) {
      if (exited) {
        throw new BenchError(
          'CHILD_FAILED',
          `${opts.label} exited while ${what}; last log lines:\n${tail.split('\n').slice(-15).join('\n')}`,
        );
      }
    },
    async stop(graceMs = 30_000) {
      if (!exited) {
        sample();
        child.kill('SIGTERM');
        const done = await Promise.race([exitedP.then(() => true), sleep(graceMs).then(() => false)]);
        if (!done) child.kill('SIGKILL');
      }
      clearInterval(timer);
      return exitedP;
    },
  };
}
