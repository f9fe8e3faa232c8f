import { describe, expect, it } from 'vitest';
import {
  brokerJvmArgs,
  formatJvmArgs,
  LOCAL_CLUSTER_ID,
  renderServerProperties,
} from '../../src/kafka/local/config.ts';
import { renderTemplate } from '../../src/kafka/local/template.ts';

/** Minimal java.util.Properties reading: key=value lines, # comments. */
function parseProperties(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const i = t.indexOf('=');
    map.set(t.slice(0, i), t.slice(i + 1));
  }
  return map;
}

const base = { clientPort: 40001, controllerPort: 40002, dataDir: '/tmp/prism-data' };

describe('renderServerProperties', () => {
  it('binds a combined broker+controller to 127.0.0.1 on the given ports', () => {
    const p = parseProperties(renderServerProperties({ version: '3.9.1', ...base }));
    expect(p.get('process.roles')).toBe('broker,controller');
    expect(p.get('controller.quorum.voters')).toBe('1@127.0.0.1:40002');
    expect(p.get('listeners')).toBe('PLAINTEXT://127.0.0.1:40001,CONTROLLER://127.0.0.1:40002');
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:40001');
    expect(p.get('log.dirs')).toBe('/tmp/prism-data');
  });

  it('sets single-node replication so group and transaction coordinators can start', () => {
    const p = parseProperties(renderServerProperties({ version: '3.9.1', ...base }));
    expect(p.get('offsets.topic.replication.factor')).toBe('1');
    expect(p.get('transaction.state.log.replication.factor')).toBe('1');
    expect(p.get('transaction.state.log.min.isr')).toBe('1');
    expect(p.get('group.initial.rebalance.delay.ms')).toBe('0');
    expect(Number(p.get('log.cleaner.dedupe.buffer.size'))).toBeGreaterThan(1024 * 1024);
  });

  it('adds share-coordinator replication only for Kafka 4.1.1', () => {
    const v3 = parseProperties(renderServerProperties({ version: '3.9.1', ...base }));
    const v4 = parseProperties(renderServerProperties({ version: '4.1.1', ...base }));
    expect(v3.has('share.coordinator.state.topic.replication.factor')).toBe(false);
    expect(v4.get('share.coordinator.state.topic.replication.factor')).toBe('1');
    expect(v4.get('share.coordinator.state.topic.min.isr')).toBe('1');
  });

  it('leaves no template placeholder behind', () => {
    for (const version of ['3.9.1', '4.1.1'] as const) {
      expect(renderServerProperties({ version, ...base })).not.toMatch(/\{\{\w+\}\}/);
    }
  });

  it('rejects equal or out-of-range ports', () => {
    expect(() => renderServerProperties({ version: '3.9.1', ...base, controllerPort: 40001 })).toThrow(
      /differ/,
    );
    expect(() => renderServerProperties({ version: '3.9.1', ...base, clientPort: 70000 })).toThrow(
      RangeError,
    );
  });

  it('writes Windows-style data dirs with forward slashes (backslash escapes in .properties)', () => {
    const p = parseProperties(
      renderServerProperties({ version: '3.9.1', ...base, dataDir: 'C:\\kafka\\data' }),
    );
    expect(p.get('log.dirs')).toBe('C:/kafka/data');
  });
});

describe('renderTemplate', () => {
  it('throws on a placeholder without a value instead of passing it through', () => {
    expect(() => renderTemplate('port={{port}}', {})).toThrow(/\{\{port\}\}/);
    expect(renderTemplate('port={{port}}', { port: 1 })).toBe('port=1');
  });
});

describe('JVM arguments', () => {
  const input = {
    libsDir: '/cache/libs',
    logsDir: '/run/logs',
    logConfigPath: '/run/log.cfg',
    tmpDir: '/run/tmp',
  };

  it('pass the classpath wildcard unexpanded and run kafka.Kafka on the properties file', () => {
    const args = brokerJvmArgs({ version: '3.9.1', ...input }, '/run/server.properties');
    expect(args[args.indexOf('-cp') + 1]).toBe('/cache/libs/*');
    expect(args.slice(-2)).toEqual(['kafka.Kafka', '/run/server.properties']);
    expect(args).toContain('-Dkafka.logs.dir=/run/logs');
    expect(args).toContain('-Xmx512m');
  });

  it('use the log4j 1 flag for 3.9.1 and the log4j2 flag for 4.1.1', () => {
    expect(brokerJvmArgs({ version: '3.9.1', ...input }, 'p')).toContain(
      '-Dlog4j.configuration=file:/run/log.cfg',
    );
    expect(brokerJvmArgs({ version: '4.1.1', ...input }, 'p')).toContain(
      '-Dlog4j2.configurationFile=/run/log.cfg',
    );
  });

  it('format storage with the fixed cluster id, never with --standalone', () => {
    const args = formatJvmArgs(
      { version: '4.1.1', libsDir: '/cache/libs', tmpDir: '/t', toolsLogConfigPath: '/run/tools.xml' },
      '/run/server.properties',
    );
    expect(args).toEqual(
      expect.arrayContaining(['kafka.tools.StorageTool', 'format', '-t', LOCAL_CLUSTER_ID]),
    );
    expect(args).not.toContain('--standalone');
    expect(LOCAL_CLUSTER_ID).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
