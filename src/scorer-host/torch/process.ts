import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.ts';
import type { Endpoint } from './connection.ts';
import { TorchScorerError } from './errors.ts';

export interface SpawnOptions {
  readonly python: string;
  readonly modelDir: string;
  /** Unix socket path, or undefined for TCP on 127.0.0.1 (port 0 = any free one). */
  readonly socket?: string;
  readonly port?: number;
  readonly device: string;
  readonly dtype: string;
  readonly maxRows: number;
  readonly maxTokens: number;
  readonly threads?: number;
  readonly startupTimeoutMs: number;
  readonly log: Logger;
}

export interface SpawnedService {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly endpoint: Endpoint;
  /** Resolves with the exit code/signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** clients/python of this checkout (put on PYTHONPATH so the service runs without a pip install). */
export function bundledPythonPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'clients', 'python');
    if (existsSync(join(candidate, 'prism_stream', 'scorer_service'))) return candidate;
    dir = resolve(dir, '..');
  }
  return undefined;
}

/**
 * Starts `python -m prism_stream.scorer_service` and resolves once it printed its JSON ready line
 * (the model is loaded and the socket listens). Its JSON logs on stderr are forwarded at debug level.
 */
export async function spawnService(o: SpawnOptions): Promise<SpawnedService> {
  const args = ['-m', 'prism_stream.scorer_service', '--model', o.modelDir, '--device', o.device];
  args.push('--dtype', o.dtype, '--max-rows', String(o.maxRows), '--max-tokens', String(o.maxTokens));
  if (o.threads !== undefined && o.threads > 0) args.push('--threads', String(o.threads));
  args.push('--parent-pid', String(process.pid)); // the service exits if this process dies (even kill -9)
  if (o.socket !== undefined) args.push('--socket', o.socket);
  else args.push('--host', '127.0.0.1', '--port', String(o.port ?? 0));
  const pyPath = bundledPythonPath();
  const env = { ...process.env };
  if (pyPath !== undefined) env.PYTHONPATH = [pyPath, env.PYTHONPATH].filter(Boolean).join(':');
  const child = spawn(o.python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    o.log.debug({ service: line.slice(0, 2000) }, 'torch scorer service');
  });
  const ready = new Promise<Endpoint>((resolveReady, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; socket?: string; host?: string; port?: number };
        if (msg.event !== 'ready') return;
        if (typeof msg.socket === 'string') resolveReady({ socket: msg.socket });
        else if (typeof msg.host === 'string' && typeof msg.port === 'number')
          resolveReady({ host: msg.host, port: msg.port });
      } catch {
        // Not our ready line (a library printing to stdout): ignore.
      }
    });
    child.once('error', (err) =>
      reject(
        new TorchScorerError(
          'SERVICE_START_FAILED',
          `cannot start ${o.python}: ${err.message} (scorer.torch.python)`,
          { cause: err },
        ),
      ),
    );
    void exited.then(({ code, signal }) =>
      reject(
        new TorchScorerError(
          'SERVICE_START_FAILED',
          `the scorer service exited before it was ready (code ${code}, signal ${signal}); its last log lines: ${tail.join(' | ').slice(-1500) || '(none)'} — check scorer.torch.python has torch and transformers (pip install './clients/python[hf]')`,
        ),
      ),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TorchScorerError(
            'SERVICE_START_TIMEOUT',
            `the scorer service was not ready within ${o.startupTimeoutMs} ms (scorer.torch.startupTimeoutMs)`,
          ),
        ),
      o.startupTimeoutMs,
    );
  });
  try {
    const endpoint = await Promise.race([ready, timeout]);
    return { child, pid: child.pid ?? -1, endpoint, exited };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
