import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { parseJavaMajor } from '../../src/kafka/local/prerequisites.ts';
import { DEFAULT_KAFKA_VERSION, parseKafkaVersion } from '../../src/kafka/local/versions.ts';
import { cacheRoot, defaultRunDir, libsDir } from '../../src/kafka/local/paths.ts';

describe('parseKafkaVersion', () => {
  it('defaults to 3.9.1 (kafkajs 2.2.4 predates Kafka 4)', () => {
    expect(DEFAULT_KAFKA_VERSION).toBe('3.9.1');
    expect(parseKafkaVersion(undefined)).toBe('3.9.1');
    expect(parseKafkaVersion('')).toBe('3.9.1');
  });

  it('accepts 4.1.1', () => {
    expect(parseKafkaVersion('4.1.1')).toBe('4.1.1');
  });

  it('rejects other versions (4.0.0 lacks JoinGroup v0/v1) with a ConfigError naming the choices', () => {
    expect(() => parseKafkaVersion('4.0.0')).toThrow(ConfigError);
    expect(() => parseKafkaVersion('4.0.0')).toThrow(/3\.9\.1, 4\.1\.1/);
  });
});

describe('parseJavaMajor', () => {
  it('reads modern and 1.x version strings', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajor('openjdk version "21" 2023-09-19')).toBe(21);
    expect(parseJavaMajor('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajor('no java here')).toBeUndefined();
  });
});

describe('cache locations', () => {
  it('live under PRISM_CACHE_DIR when set, one libs dir per version', () => {
    const root = cacheRoot({ PRISM_CACHE_DIR: '/var/cache/prism' });
    expect(root).toBe('/var/cache/prism');
    expect(libsDir('4.1.1', root)).toBe('/var/cache/prism/kafka/4.1.1/libs');
    expect(defaultRunDir(root)).toBe('/var/cache/prism/run');
  });

  it('default to ~/.cache/prism-stream', () => {
    expect(cacheRoot({})).toMatch(/[/\\]\.cache[/\\]prism-stream$/);
  });
});
