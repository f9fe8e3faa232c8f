import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout stays free for command output such as JSONL).
 * Level from PRISM_LOG_LEVEL (default info).
 */
export function createLogger(name: string, level = process.env.PRISM_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}

export const log: Logger = createLogger('prism');
