import { logLevel, type LogEntry } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/errors.ts';
import { isBrokerAway, isConnectionFailure, toBrokerError } from '../../src/kafka/errors.ts';
import { kafkaLevelForPino, toPinoRecord } from '../../src/kafka/log-bridge.ts';
import { prismTopicSpecs } from '../../src/kafka/admin/topics.ts';

function entry(level: logLevel, log: Record<string, unknown>): LogEntry {
  return { namespace: 'Consumer', level, label: 'X', log: { timestamp: 't', message: 'hello', ...log } };
}

describe('kafkajs → pino log bridge', () => {
  it('maps each kafkajs level to the pino method of the same severity', () => {
    expect(toPinoRecord(entry(logLevel.ERROR, {})).method).toBe('error');
    expect(toPinoRecord(entry(logLevel.WARN, {})).method).toBe('warn');
    expect(toPinoRecord(entry(logLevel.INFO, {})).method).toBe('info');
    expect(toPinoRecord(entry(logLevel.DEBUG, {})).method).toBe('debug');
  });

  it('keeps kafkajs extras as fields, tags the namespace, drops keys pino owns', () => {
    const rec = toPinoRecord(entry(logLevel.INFO, { groupId: 'g', level: 'x', logger: 'kafkajs' }));
    expect(rec).toEqual({ method: 'info', fields: { kafkajs: 'Consumer', groupId: 'g' }, msg: 'hello' });
  });

  it('mirrors the pino level, so debug logging enables kafkajs debug', () => {
    expect(kafkaLevelForPino('debug')).toBe('debug');
    expect(kafkaLevelForPino('info')).toBe('info');
    expect(kafkaLevelForPino('silent')).toBe('nothing');
    expect(kafkaLevelForPino('fatal')).toBe('error');
  });
});

describe('broker error mapping', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });

  it('recognises a connection failure wrapped by kafkajs retries', () => {
    const wrapped = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: refused,
    });
    expect(isConnectionFailure(wrapped)).toBe(true);
    expect(isConnectionFailure(new Error('TOPIC_AUTHORIZATION_FAILED'))).toBe(false);
  });

  it('counts a coordinator lookup that found no broker as the broker being away, a refusal not', () => {
    const lookup = Object.assign(new Error('Failed to find group coordinator'), {
      name: 'KafkaJSGroupCoordinatorNotFound',
    });
    expect(isBrokerAway(lookup)).toBe(true);
    expect(isBrokerAway(Object.assign(new Error('crash'), { cause: lookup }))).toBe(true);
    expect(isBrokerAway(refused)).toBe(true);
    expect(isBrokerAway(new Error('GROUP_AUTHORIZATION_FAILED'))).toBe(false);
    expect(isConnectionFailure(lookup), 'still not a connection error (toBrokerError keeps its code)').toBe(
      false,
    );
  });

  it('turns it into BROKER_UNREACHABLE with the `prism kafka up` hint', () => {
    const err = toBrokerError(['127.0.0.1:1'], 'list topics', refused);
    expect(err).toBeInstanceOf(BrokerError);
    expect(err.code).toBe('BROKER_UNREACHABLE');
    expect(err.message).toContain('npx prism kafka up');
  });

  it('turns other failures into KAFKA_ADMIN_FAILED naming the operation', () => {
    const err = toBrokerError(['b:1'], 'create topics', new Error('Invalid partitions'));
    expect(err.code).toBe('KAFKA_ADMIN_FAILED');
    expect(err.message).toMatch(/create topics failed on b:1: Invalid partitions/);
  });
});

describe('prismTopicSpecs', () => {
  it('lists the six topics with only model-updates compacted, scores bounded by time and size', () => {
    const specs = prismTopicSpecs(undefined, { partitions: 2 });
    expect(specs.map((s) => s.name)).toEqual([
      'prism.trajectories',
      'prism.sft',
      'prism.rl',
      'prism.dlq',
      'prism.model-updates',
      'prism.scores',
    ]);
    expect(specs.find((s) => s.name === 'prism.scores')?.configs).toEqual({
      'cleanup.policy': 'delete',
      'retention.ms': '604800000',
      'retention.bytes': '268435456',
    });
    expect(specs.filter((s) => s.configs['cleanup.policy'] === 'compact').map((s) => s.name)).toEqual([
      'prism.model-updates',
    ]);
    expect(specs.every((s) => s.partitions === 2 && s.replicationFactor === -1)).toBe(true);
  });

  it('follows renamed topics from config', () => {
    const specs = prismTopicSpecs({ trajectories: 't', sft: 's', rl: 'r', dlq: 'd', modelUpdates: 'm' });
    expect(specs.map((s) => s.name)).toEqual(['t', 's', 'r', 'd', 'm']);
  });

  it('rejects zero partitions', () => {
    expect(() => prismTopicSpecs(undefined, { partitions: 0 })).toThrow(RangeError);
  });
});
