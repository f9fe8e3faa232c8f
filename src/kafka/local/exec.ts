import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, as a user would have seen them */
  output: string;
}

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** called with each complete output line (for progress) */
  onLine?: (line: string) => void;
}

/**
 * Run a command without a shell and collect its output. Rejects only when it cannot be started
 * (the error keeps Node's `code`, e.g. ENOENT); a non-zero exit resolves with `code`.
 */
export function execCollect(
  command: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    let partial = '';
    const onData = (buf: Buffer): void => {
      const text = buf.toString('utf8');
      chunks.push(text);
      if (opts.onLine === undefined) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) opts.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (partial !== '' && opts.onLine !== undefined) opts.onLine(partial);
      resolvePromise({ code, signal, output: chunks.join('') });
    });
  });
}

/** Last `n` non-empty lines of a text, for error messages. */
export function tailLines(text: string, n = 30): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n');
}

export function isEnoent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}
