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

/** Stable reason codes of BrokerError (the local broker and broker reachability). */
export const BROKER_ERROR_CODES = [
  'JAVA_NOT_FOUND', // no `java` on PATH / JAVA_HOME
  'JAVA_TOO_OLD', // Kafka needs JDK 17+
  'MAVEN_NOT_FOUND', // no `mvn` on PATH
  'MAVEN_FAILED', // dependency:copy-dependencies failed (message carries the output tail)
  'PORT_IN_USE', // a port for the local broker is taken on 127.0.0.1
  'BROKER_FORMAT_FAILED', // kafka.tools.StorageTool format failed
  'BROKER_EXITED', // the broker JVM died during start-up
  'BROKER_START_TIMEOUT', // the client port did not accept TCP within the budget
  'BROKER_STOP_FAILED', // the broker survived SIGTERM and SIGKILL
  'BROKER_UNREACHABLE', // no broker answers at the configured address
  'BROKER_UNAVAILABLE', // a running process lost the broker for longer than kafka.unavailablePatienceMs
  'KAFKA_ADMIN_FAILED', // an admin request (create/list topics) was rejected
  'KAFKA_OFFSETS_UNAVAILABLE', // a topic's end offsets stayed unavailable (leadership never settled)
] as const;
export type BrokerErrorCode = (typeof BROKER_ERROR_CODES)[number];

/** The local broker (deploy/local) could not be fetched, started or stopped, or no broker is reachable. */
export class BrokerError extends PrismError {
  declare readonly code: BrokerErrorCode;

  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
