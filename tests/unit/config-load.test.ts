import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configKeys, loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function yamlFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('gives a complete config with defaults from nothing', () => {
    const cfg = loadConfig({ env: {} });
    expect(cfg.arbitration).toMatchObject({ policy: 'median', metric: 'gini', window: 2048, warmup: 256 });
    expect(cfg.delivery.mode).toBe('exactly-once');
    expect(cfg.http).toMatchObject({ host: '127.0.0.1', enabled: true });
    expect(cfg.topics.sft).toBe('prism.sft');
  });

  it('layers file < env < flags', () => {
    const file = yamlFile(
      'layers.yaml',
      'consumer:\n  groupId: from-file\n  highWatermark: 300\n  lowWatermark: 100\nbatch:\n  size: 10\n',
    );
    const cfg = loadConfig({
      file,
      env: { PRISM_CONSUMER_HIGH_WATERMARK: '400', PRISM_BATCH_SIZE: '20', PRISM_KAFKA_BROKERS: 'a:1, b:2' },
      overrides: [{ path: 'batch.size', value: '30', source: '--set batch.size=30' }],
    });
    expect(cfg.consumer.groupId).toBe('from-file');
    expect(cfg.consumer.highWatermark).toBe(400);
    expect(cfg.batch.size).toBe(30);
    expect(cfg.kafka.brokers).toEqual(['a:1', 'b:2']);
  });

  it('coerces booleans from the environment', () => {
    expect(loadConfig({ env: { PRISM_HTTP_ENABLED: 'false' } }).http.enabled).toBe(false);
  });

  it('names the field and its source when a value has the wrong type', () => {
    const err = configError(() => loadConfig({ env: { PRISM_CONSUMER_HIGH_WATERMARK: 'lots' } }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/consumer\.highWatermark/);
    expect(err.message).toMatch(/PRISM_CONSUMER_HIGH_WATERMARK/);
  });

  it('names an unknown key in the YAML file', () => {
    const file = yamlFile('unknown.yaml', 'arbitration:\n  polcy: median\n');
    const err = configError(() => loadConfig({ file, env: {} }));
    expect(err.message).toMatch(/arbitration\.polcy: unknown key/);
    expect(err.message).toContain(file);
  });

  it('rejects a threshold policy without a threshold, naming arbitration.threshold', () => {
    const err = configError(() => loadConfig({ env: { PRISM_ARBITRATION_POLICY: 'threshold' } }));
    expect(err.message).toMatch(/arbitration\.threshold: required/);
  });

  it('rejects watermarks that cannot work and a warm-up larger than a partition can hold', () => {
    expect(configError(() => loadConfig({ env: { PRISM_CONSUMER_LOW_WATERMARK: '2000' } })).message).toMatch(
      /consumer\.lowWatermark/,
    );
    const err = configError(() =>
      loadConfig({
        env: {
          PRISM_ARBITRATION_WARMUP: '2000',
          PRISM_CONSUMER_HIGH_WATERMARK: '1500',
          PRISM_CONSUMER_LOW_WATERMARK: '10',
        },
      }),
    );
    expect(err.message).toMatch(/arbitration\.warmup: must not exceed consumer\.highWatermark/);
  });

  it('rejects an output topic equal to the input topic', () => {
    expect(
      configError(() => loadConfig({ env: { PRISM_TOPICS_SFT: 'prism.trajectories' } })).message,
    ).toMatch(/topics\.trajectories/);
  });

  it('reports unreadable and malformed files', () => {
    expect(configError(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })).message).toMatch(
      /cannot read/,
    );
    const bad = yamlFile('bad.yaml', 'consumer: [\n');
    expect(configError(() => loadConfig({ file: bad, env: {} })).message).toMatch(/not valid YAML/);
    const list = yamlFile('list.yaml', '- a\n');
    expect(configError(() => loadConfig({ file: list, env: {} })).message).toMatch(/mapping/);
  });

  it('rejects an override of a key that does not exist', () => {
    expect(
      configError(() =>
        loadConfig({ env: {}, overrides: [{ path: 'batch.sise', value: '1', source: '--set' }] }),
      ).message,
    ).toMatch(/batch\.sise: unknown key/);
  });

  it('has an environment variable for every key', () => {
    const names = configKeys().map((k) => k.env);
    expect(names).toContain('PRISM_CONSUMER_HIGH_WATERMARK');
    expect(names).toContain('PRISM_ARBITRATION_CALIBRATE');
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('prism.example.yaml', () => {
  it('is a valid config whose values are the defaults', () => {
    const file = join(import.meta.dirname, '..', '..', 'prism.example.yaml');
    const fromExample = loadConfig({ file, env: {} });
    const defaults = loadConfig({ env: {} });
    expect(fromExample.consumer).toEqual(defaults.consumer);
    expect(fromExample.arbitration).toEqual(defaults.arbitration);
    expect(fromExample.delivery).toEqual(defaults.delivery);
    expect(fromExample.http).toEqual(defaults.http);
    expect(fromExample.batch).toEqual(defaults.batch);
  });

  it('rejects unknown keys inside the extended scorer section too', () => {
    const file = yamlFile('scorer.yaml', 'scorer:\n  kind: deterministic\n  delay: 5\n');
    expect(configError(() => loadConfig({ file, env: {} })).message).toMatch(/scorer\.delay: unknown key/);
  });
});
