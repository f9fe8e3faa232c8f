/**
 * Every error prism-stream raises on purpose is a PrismError: it carries a stable reason `code`
 * (used for dead-letter headers and metrics) and the process exit code a CLI should use.
 */
export class PrismError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Bad configuration or CLI usage: exit code 2, message names the field. */
export class ConfigError extends PrismError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, { ...options, exitCode: 2 });
  }
}

/** The local broker (deploy/local) could not be fetched, started or stopped. */
export class BrokerError extends PrismError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
