// Small helpers shared by the setup-native steps (no dependencies: this runs right after `npm ci`).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';

/** A reason the native backend cannot be set up here. Non-fatal unless --strict. */
export class NativeSetupSkip extends Error {
  /** @param {string} code stable reason code, e.g. NO_COMPILER  @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'NativeSetupSkip';
    this.code = code;
  }
}

const t0 = Date.now();
export function log(msg) {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[setup:native ${s}s] ${msg}\n`);
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** Run a command, teeing its output into logFile; resolves with the exit code. */
export function run(cmd, args, { cwd, env, logFile, timeoutMs = 30 * 60_000, echo = false } = {}) {
  return new Promise((resolve, reject) => {
    const out = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    out?.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const sink = (chunk) => {
      out?.write(chunk);
      if (echo) process.stderr.write(chunk);
    };
    child.stdout.on('data', sink);
    child.stderr.on('data', sink);
    child.on('error', (e) => {
      clearTimeout(timer);
      out?.end();
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out?.end(() => resolve(code ?? (signal ? 128 : 1)));
    });
  });
}

/** Run synchronously and return trimmed stdout (or undefined on failure). */
export function capture(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
