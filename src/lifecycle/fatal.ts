import type { Logger } from '../log.ts';

/** Exit code of a process ended by the last-resort handler (an uncaught bug, not a typed failure). */
export const FATAL_EXIT_CODE = 70;

export interface FatalHandlerOptions {
  readonly log: Logger;
  /** Which process (logged): `prism run`, `prism train sft`, … */
  readonly processName: string;
  /**
   * Best effort before exiting: abort open transactions (nothing more commits; a restart re-reads
   * what was not committed). Bounded by `cleanupTimeoutMs`.
   */
  readonly onFatal?: (err: Error) => Promise<void> | void;
  /** Default 5000 ms. */
  readonly cleanupTimeoutMs?: number;
  /** Default FATAL_EXIT_CODE. */
  readonly exitCode?: number;
  /** Injected in tests; default process.exit. */
  readonly exit?: (code: number) => void;
  /** Injected in tests; default process. */
  readonly target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export type FatalKind = 'uncaughtException' | 'unhandledRejection';

function asError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  return new Error(`non-Error rejection: ${typeof reason === 'string' ? reason : JSON.stringify(reason)}`);
}

/**
 * The last resort of a long-running command: an exception nobody caught (or a rejection nobody
 * handled) is logged at fatal level with its stack, open transactions are aborted (onFatal,
 * bounded), and the process exits non-zero — a bug can never look like a silent crash, and never
 * leaves a half-working process behind. A second fatal error while handling the first exits at once.
 * Returns a function that uninstalls the handler.
 */
export function installFatalHandler(o: FatalHandlerOptions): () => void {
  const target = o.target ?? process;
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const exitCode = o.exitCode ?? FATAL_EXIT_CODE;
  let handling = false;

  const handle = (kind: FatalKind, reason: unknown): void => {
    const err = asError(reason);
    const code = (err as { code?: unknown }).code;
    o.log.fatal(
      {
        kind,
        process: o.processName,
        err: {
          name: err.name,
          message: err.message,
          code: typeof code === 'string' ? code : undefined,
          stack: err.stack,
        },
      },
      `${o.processName}: ${kind} (a bug): aborting open transactions and exiting ${exitCode}`,
    );
    if (handling) {
      exit(exitCode);
      return;
    }
    handling = true;
    const cleanup = Promise.resolve()
      .then(() => o.onFatal?.(err))
      .catch((e: unknown) =>
        o.log.error({ err: asError(e).message }, 'cleanup after the fatal error failed'),
      );
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, o.cleanupTimeoutMs ?? 5000).unref());
    void Promise.race([cleanup, timeout]).finally(() => exit(exitCode));
  };
  const onException = (err: unknown): void => handle('uncaughtException', err);
  const onRejection = (reason: unknown): void => handle('unhandledRejection', reason);
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return () => {
    target.off('uncaughtException', onException);
    target.off('unhandledRejection', onRejection);
  };
}
