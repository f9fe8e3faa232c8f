import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { stringify as stringifyYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { Secret } from '../../src/config/secret.ts';
import { scram } from '../../src/consumer/wire-connection.ts';
import { renderServerProperties } from '../../src/kafka/local/config.ts';
import { scramFormatArgs, secureServerProperties } from '../../src/kafka/local/secure.ts';
import { classifySecurityFailure } from '../../src/kafka/security/classify.ts';
import { resolveKafkaSecurity, securityFromEnv } from '../../src/kafka/security/resolve.ts';

const SECRET = 'S3cr3t-pa55word-that-must-never-print';
const dir = mkdtempSync(join(tmpdir(), 'kafka-security-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const saslEnv = {
  PRISM_KAFKA_SASL_MECHANISM: 'scram-sha-512',
  PRISM_KAFKA_SASL_USERNAME: 'prism',
  PRISM_KAFKA_SASL_PASSWORD: SECRET,
};

describe('secrets in the configuration', () => {
  it('never render: YAML (--print-config), JSON, inspect, string and pino log lines show [redacted]', () => {
    const config = loadConfig({ env: { ...saslEnv, PRISM_HTTP_AUTH_TOKEN: `${SECRET}-http` } });
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    });
    pino({}, sink).info({ config }, `config ${String(config.kafka.sasl.password)}`);
    const renderings = [
      stringifyYaml(config),
      JSON.stringify(config),
      inspect(config, { depth: 10 }),
      lines.join(''),
    ];
    for (const text of renderings) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain('[redacted]');
    }
    expect(config.kafka.sasl.password?.reveal()).toBe(SECRET);
  });

  it('maps PRISM_KAFKA_SASL_* and PRISM_KAFKA_SSL_* onto kafka.sasl / kafka.ssl', () => {
    const config = loadConfig({ env: { ...saslEnv, PRISM_KAFKA_SSL_CA_FILE: '/x/ca.pem' } });
    expect(config.kafka.sasl.mechanism).toBe('scram-sha-512');
    expect(config.kafka.ssl.caFile).toBe('/x/ca.pem');
    expect(config.kafka.ssl.rejectUnauthorized).toBe(true);
  });

  it('rejects a half SASL configuration with a message that names fields, not values', () => {
    expect(() => loadConfig({ env: { PRISM_KAFKA_SASL_PASSWORD: SECRET } })).toThrow(
      /kafka\.sasl\.mechanism/,
    );
    try {
      loadConfig({ env: { PRISM_KAFKA_SASL_PASSWORD: SECRET } });
    } catch (err) {
      expect((err as Error).message).not.toContain(SECRET);
    }
  });
});

describe('resolveKafkaSecurity', () => {
  it('reads the password file, verifies host names by default and describes itself without the secret', () => {
    const pw = join(dir, 'pw');
    const ca = join(dir, 'ca.pem');
    writeFileSync(pw, `${SECRET}\n`, { mode: 0o600 });
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const r = resolveKafkaSecurity(
      securityFromEnv({
        PRISM_KAFKA_SSL_CA_FILE: ca,
        PRISM_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
        PRISM_KAFKA_SASL_USERNAME: 'u',
        PRISM_KAFKA_SASL_PASSWORD_FILE: pw,
      }),
    );
    expect(r.sasl).toMatchObject({ mechanism: 'scram-sha-256', username: 'u', password: SECRET });
    expect(r.ssl?.rejectUnauthorized).toBe(true);
    expect(typeof r.ssl?.checkServerIdentity).toBe('function');
    expect(r.describe).toContain('user=u');
    expect(r.describe).not.toContain(SECRET);
  });

  it('names an unreadable password file by path with exit code 2', () => {
    expect(() =>
      resolveKafkaSecurity(
        securityFromEnv({
          ...saslEnv,
          PRISM_KAFKA_SASL_PASSWORD: '',
          PRISM_KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing'),
        }),
      ),
    ).toThrow(expect.objectContaining({ code: 'KAFKA_SECRET_UNREADABLE', exitCode: 2 }));
  });

  it('is plaintext without any setting', () => {
    expect(resolveKafkaSecurity(securityFromEnv({})).enabled).toBe(false);
  });
});

describe('classifySecurityFailure', () => {
  const ctx = { brokers: ['127.0.0.1:9094'], describe: 'ssl, sasl', username: 'prism', secrets: [SECRET] };

  it('turns a kafkajs SASL failure into KAFKA_AUTH_FAILED (exit 2) and scrubs the secret', () => {
    const err = Object.assign(new Error(`SASL SCRAM SHA512 authentication failed: bad ${SECRET}`), {
      name: 'KafkaJSSASLAuthenticationError',
    });
    const typed = classifySecurityFailure(err, ctx);
    expect(typed).toMatchObject({ code: 'KAFKA_AUTH_FAILED', exitCode: 2 });
    expect(typed?.message).not.toContain(SECRET);
    expect(typed?.message).toContain('prism');
  });

  it('turns an untrusted certificate (wrapped by kafkajs retries) into KAFKA_TLS_FAILED', () => {
    const inner = Object.assign(new Error('Connection error: self-signed certificate in certificate chain'), {
      name: 'KafkaJSConnectionError',
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const outer = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      originalError: inner,
    });
    expect(classifySecurityFailure(outer, ctx)?.code).toBe('KAFKA_TLS_FAILED');
  });

  it('leaves plain connection failures alone', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(classifySecurityFailure(err, ctx)).toBeUndefined();
  });
});

describe('SCRAM client (hand-written, for the stable offset read)', () => {
  it('produces the RFC 7677 SCRAM-SHA-256 proof and checks the server signature', async () => {
    const sent: string[] = [];
    const replies = [
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
    ];
    await scram(
      'sha256',
      'user',
      'pencil',
      async (b) => {
        sent.push(b.toString('utf8'));
        return Buffer.from(replies[sent.length - 1], 'utf8');
      },
      'rOprNGfwEbeRWgbNEkqO',
    );
    expect(sent).toEqual([
      'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    ]);
  });

  it('rejects a server that cannot prove it knows the password', async () => {
    const salt = Buffer.from('salt');
    let n = 0;
    const step = async (b: Buffer): Promise<Buffer> => {
      n += 1;
      if (n === 1) {
        const nonce = /r=([^,]+)/.exec(b.toString())?.[1] ?? '';
        return Buffer.from(`r=${nonce}xyz,s=${salt.toString('base64')},i=4096`);
      }
      // A signature from a different password.
      const salted = pbkdf2Sync('other', salt, 4096, 64, 'sha512');
      const key = createHmac('sha512', salted).update('Server Key').digest();
      return Buffer.from(`v=${createHash('sha512').update(key).digest('base64')}`);
    };
    await expect(scram('sha512', 'u', 'pw', step)).rejects.toMatchObject({ code: 'KAFKA_AUTH_FAILED' });
  });
});

describe('prism kafka up --secure: broker configuration', () => {
  it('adds a SASL_SSL listener with SCRAM and a PKCS#12 keystore next to PLAINTEXT', () => {
    const props = renderServerProperties({
      version: '3.9.1',
      clientPort: 19092,
      controllerPort: 19093,
      dataDir: '/tmp/data',
      secure: {
        port: 19094,
        lines: secureServerProperties(19094, {
          keystoreFile: '/run/secure/broker.p12',
          keystorePassword: 'ks',
        }),
      },
    });
    expect(props).toContain(
      'listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093,SASL_SSL://127.0.0.1:19094',
    );
    expect(props).toContain('advertised.listeners=PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094');
    expect(props).toContain(
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    );
    expect(props).toContain('sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256');
    expect(props).toContain('listener.name.sasl_ssl.ssl.keystore.location=/run/secure/broker.p12');
  });

  it('leaves the plaintext-only configuration unchanged without --secure', () => {
    const props = renderServerProperties({
      version: '3.9.1',
      clientPort: 19092,
      controllerPort: 19093,
      dataDir: '/d',
    });
    expect(props).not.toContain('SASL_SSL');
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093\n');
  });

  it('creates the SCRAM user for both hash sizes at format time', () => {
    expect(scramFormatArgs({ username: 'prism', password: 'p' })).toEqual([
      '--add-scram',
      'SCRAM-SHA-512=[name=prism,password=p]',
      '--add-scram',
      'SCRAM-SHA-256=[name=prism,password=p]',
    ]);
  });
});

it('Secret hides its value from every generic rendering', () => {
  const s = new Secret(SECRET);
  expect(`${String(s)} ${JSON.stringify({ s })} ${inspect(s)}`).not.toContain(SECRET);
});
