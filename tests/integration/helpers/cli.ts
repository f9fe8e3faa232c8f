/**
 * `prism <args>` as a child process that runs to completion: exit code, stdout and stderr, for
 * tests of the CLI's messages. The timeout only bounds a hang (nothing asserts how long it took).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PRISM_BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'prism.mjs');

export interface CliResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function prismCli(
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PRISM_BIN, ...args],
      {
        timeout: opts.timeoutMs ?? 120_000,
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        const code = e === null ? 0 : typeof e.code === 'number' ? e.code : 1;
        resolve({ code, signal: e?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/** The JSON log lines (pino) of a stderr capture; other lines are skipped. */
export function jsonLogLines(stderr: string): { level: number; msg?: string; [k: string]: unknown }[] {
  const out: { level: number; msg?: string }[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as { level?: unknown };
      if (typeof v.level === 'number') out.push(v as { level: number; msg?: string });
    } catch {
      // not a log line
    }
  }
  return out;
}

/** Whether `pid` runs (a zombie — exited, not yet reaped by its new parent — does not). */
export function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}
