/**
 * A secure broker of its own for the secure-*.test.ts files: the same code as
 * `prism kafka up --secure` (SASL_SSL listener, SCRAM-SHA-512 user, throw-away CA), on free
 * ephemeral ports in a temp dir. Not a test file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { KafkaSecurityConfig } from '../../src/kafka/security/resolve.ts';
import { createKafka } from '../../src/kafka/client.ts';
import { ensureKafkaJars } from '../../src/kafka/local/fetch-jars.ts';
import { freePorts } from '../../src/kafka/local/net.ts';
import { startBroker, stopBroker } from '../../src/kafka/local/process.ts';
import type { BrokerState } from '../../src/kafka/local/state.ts';
import { parseKafkaVersion } from '../../src/kafka/local/versions.ts';
import { kafkaSaslSection, kafkaSslSection } from '../../src/config/kafka.ts';

export interface SecureBroker {
  readonly state: BrokerState;
  /** the SASL_SSL listener */
  readonly brokers: string[];
  readonly security: KafkaSecurityConfig;
  /** PRISM_KAFKA_* variables for a child process (password as a file path) */
  readonly env: Record<string, string>;
  /** the SCRAM password (only to assert it never shows up) */
  readonly password: string;
  kafka(clientId: string): Kafka;
  stop(): Promise<void>;
}

export async function startSecureBroker(): Promise<SecureBroker> {
  const version = parseKafkaVersion(process.env.PRISM_KAFKA_VERSION);
  const jars = await ensureKafkaJars({ version });
  const runDir = await mkdtemp(join(tmpdir(), 'prism-kafka-secure-'));
  const [clientPort, controllerPort, securePort] = await freePorts(3);
  let state: BrokerState;
  try {
    state = await startBroker({
      version,
      libsDir: jars.libsDir,
      clientPort,
      controllerPort,
      securePort,
      runDir,
      detached: false,
    });
  } catch (err) {
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
  const sec = state.secure;
  if (sec === undefined) throw new Error('broker started without its secure listener');
  const security: KafkaSecurityConfig = {
    ssl: kafkaSslSection.parse({ caFile: sec.caFile }),
    sasl: kafkaSaslSection.parse({
      mechanism: sec.mechanism,
      username: sec.username,
      passwordFile: sec.passwordFile,
    }),
  };
  const brokers = [`127.0.0.1:${sec.port}`];
  const started = state;
  return {
    state,
    brokers,
    security,
    env: {
      PRISM_KAFKA_BROKERS: brokers.join(','),
      PRISM_KAFKA_SSL_CA_FILE: sec.caFile,
      PRISM_KAFKA_SASL_MECHANISM: sec.mechanism,
      PRISM_KAFKA_SASL_USERNAME: sec.username,
      PRISM_KAFKA_SASL_PASSWORD_FILE: sec.passwordFile,
    },
    password: (await readFile(sec.passwordFile, 'utf8')).trim(),
    kafka: (clientId) => createKafka({ brokers, clientId, security, logLevel: 'nothing' }),
    async stop() {
      try {
        await stopBroker(started, { graceMs: 20_000 });
      } finally {
        await rm(runDir, { recursive: true, force: true });
      }
    },
  };
}

/** A CA the broker's certificate was not signed by (for the "untrusted CA" case). */
export function otherCa(dir: string): string {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'other.key',
      '-out',
      'other-ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=other CA',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  return join(dir, 'other-ca.pem');
}
