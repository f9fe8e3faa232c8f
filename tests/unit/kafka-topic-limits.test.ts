import type { Admin } from 'kafkajs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { TopicLimits } from '../../src/kafka/admin/topic-limits.ts';

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

function adminWith(limits: Record<string, string>, fail = false): Admin {
  return {
    describeConfigs: async (q: { resources: { name: string }[] }) => {
      if (fail) throw new Error('CLUSTER_AUTHORIZATION_FAILED');
      return {
        resources: q.resources.map((r) => ({
          resourceName: r.name,
          errorCode: limits[r.name] === undefined ? 3 : 0,
          configEntries:
            limits[r.name] === undefined
              ? []
              : [{ configName: 'max.message.bytes', configValue: limits[r.name] }],
        })),
      };
    },
  } as unknown as Admin;
}

const topics = { input: 'in', outputs: ['sft', 'rl', 'dlq'], dlq: 'dlq' };

describe('TopicLimits (max.message.bytes via DescribeConfigs)', () => {
  it('reads every topic and warns when the DLQ accepts less than the input topic', async () => {
    const { log, lines } = capture();
    const t = await TopicLimits.describe(adminWith({ in: '8388608', sft: '1048588', dlq: '1048588' }), {
      ...topics,
      log,
    });
    expect(t.maxMessageBytes('in')).toBe(8_388_608);
    expect(t.maxMessageBytes('dlq')).toBe(1_048_588);
    expect(t.maxMessageBytes('rl')).toBeUndefined(); // not reported: unknown, not guessed
    expect(t.dlqTopic).toBe('dlq');
    const warn = lines.find((l) => l.level === 40);
    expect(warn?.msg).toMatch(
      /DLQ topic accepts smaller records than the input topic \(max\.message\.bytes 1048588 < 8388608\)/,
    );
  });

  it('does not warn when the DLQ accepts as much, and survives a refused DescribeConfigs', async () => {
    const same = capture();
    await TopicLimits.describe(adminWith({ in: '1048588', dlq: '1048588' }), { ...topics, log: same.log });
    expect(same.lines.filter((l) => l.level === 40)).toEqual([]);

    const refused = capture();
    const t = await TopicLimits.describe(adminWith({}, true), { ...topics, log: refused.log });
    expect(t.maxMessageBytes('dlq')).toBeUndefined();
    expect(refused.lines.find((l) => l.level === 40)?.msg).toMatch(/could not read max\.message\.bytes/);
  });
});
