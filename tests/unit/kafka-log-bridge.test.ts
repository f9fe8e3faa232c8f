import { logLevel, type LogEntry } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { toPinoRecord } from '../../src/kafka/log-bridge.ts';

function entry(
  namespace: string,
  level: logLevel,
  message: string,
  log: Record<string, unknown> = {},
): LogEntry {
  return { namespace, level, label: 'X', log: { timestamp: 't', message, ...log } };
}

describe('kafkajs log levels on a healthy run', () => {
  it('logs the retried "group coordinator is not available" answer at info, not error', () => {
    const rec = toPinoRecord(
      entry('Connection', logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)', {
        error: 'The group coordinator is not available',
        correlationId: 3,
      }),
    );
    expect(rec.method).toBe('info');
    expect(rec.fields).toMatchObject({
      kafkajs: 'Connection',
      error: 'The group coordinator is not available',
    });
  });

  it("logs the producer's line for a retried CONCURRENT_TRANSACTIONS answer at info", () => {
    const msg =
      'Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
    expect(toPinoRecord(entry('Producer', logLevel.ERROR, msg)).method).toBe('info');
    expect(
      toPinoRecord(entry('Producer', logLevel.ERROR, 'Failed to send messages: Broker not available')).method,
    ).toBe('error');
  });

  it('keeps other error responses at error (a persistent or non-retriable answer)', () => {
    for (const error of [
      'This server does not host this topic-partition',
      'Not authorized to access topics',
    ]) {
      const rec = toPinoRecord(
        entry('Connection', logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', { error }),
      );
      expect(rec.method, error).toBe('error');
    }
    // The same text outside a "Response …" line is not a retried broker answer.
    expect(
      toPinoRecord(
        entry('Consumer', logLevel.ERROR, 'Crash', { error: 'The group coordinator is not available' }),
      ).method,
    ).toBe('error');
  });

  it('logs the bounded-retries warning of idempotent producers at debug (README explains why it is safe)', () => {
    const rec = toPinoRecord(
      entry(
        'Producer',
        logLevel.WARN,
        'Limiting retries for the idempotent producer may invalidate EoS guarantees',
      ),
    );
    expect(rec.method).toBe('debug');
    expect(toPinoRecord(entry('Producer', logLevel.WARN, 'something else')).method).toBe('warn');
  });
});
