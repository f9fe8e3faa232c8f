import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../log.ts';

export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

const LEVEL_BY_NAME: Record<KafkaLogLevelName, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export function kafkaLogLevel(name: KafkaLogLevelName): logLevel {
  return LEVEL_BY_NAME[name];
}

/** kafkajs level that mirrors a pino level (pino filters again, so this only saves work). */
export function kafkaLevelForPino(pinoLevel: string): KafkaLogLevelName {
  switch (pinoLevel) {
    case 'trace':
    case 'debug':
      return 'debug';
    case 'info':
      return 'info';
    case 'warn':
      return 'warn';
    case 'silent':
      return 'nothing';
    default:
      return 'error'; // error, fatal
  }
}

export type PinoMethod = 'error' | 'warn' | 'info' | 'debug';

export interface PinoRecord {
  method: PinoMethod;
  fields: Record<string, unknown>;
  msg: string;
}

/** Keys pino owns (or kafkajs duplicates): dropped from the kafkajs extras. */
const RESERVED = new Set([
  'timestamp',
  'logger',
  'message',
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'name',
]);

/** One kafkajs log entry as a pino call: level method, structured fields, message. */
export function toPinoRecord(entry: LogEntry): PinoRecord {
  const method: PinoMethod =
    entry.level === logLevel.ERROR
      ? 'error'
      : entry.level === logLevel.WARN
        ? 'warn'
        : entry.level === logLevel.INFO
          ? 'info'
          : 'debug';
  const fields: Record<string, unknown> = { kafkajs: entry.namespace };
  for (const [key, value] of Object.entries(entry.log)) {
    if (!RESERVED.has(key)) fields[key] = value;
  }
  return { method, fields, msg: String(entry.log.message) };
}

/** A kafkajs logCreator writing through `logger` (pino JSON on stderr). */
export function pinoLogCreator(logger: Logger): logCreator {
  return () => (entry) => {
    const { method, fields, msg } = toPinoRecord(entry);
    logger[method](fields, msg);
  };
}
