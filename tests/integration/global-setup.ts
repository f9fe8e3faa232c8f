/**
 * One real Kafka broker per integration run, started through the same code as `prism kafka up`
 * (src/kafka/local), on free ephemeral ports in a temp dir, so parallel runs never collide.
 * Set PRISM_KAFKA_BROKERS to use an existing broker instead; PRISM_KAFKA_VERSION picks the version.
 * Tests get the address through `inject('kafkaBrokers')` (see helpers/kafka.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureKafkaJars } from '../../src/kafka/local/fetch-jars.ts';
import { freePorts } from '../../src/kafka/local/net.ts';
import { startBroker, stopBroker } from '../../src/kafka/local/process.ts';
import { brokerAddress } from '../../src/kafka/local/state.ts';
import { parseKafkaVersion } from '../../src/kafka/local/versions.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** comma-separated host:port list of the broker under test */
    kafkaBrokers: string;
  }
}

function say(line: string): void {
  process.stderr.write(`[kafka global-setup] ${line}\n`);
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env.PRISM_KAFKA_BROKERS;
  if (external !== undefined && external.trim() !== '') {
    say(`using existing broker(s) from PRISM_KAFKA_BROKERS=${external}`);
    project.provide('kafkaBrokers', external);
    return undefined;
  }

  const version = parseKafkaVersion(process.env.PRISM_KAFKA_VERSION);
  const t0 = Date.now();
  say(`checking Kafka ${version} jars...`);
  const jars = await ensureKafkaJars({ version });
  say(
    `${jars.fetched ? 'fetched' : 'cached'} ${jars.jarCount} jars in ${jars.libsDir} (${Date.now() - t0} ms)`,
  );

  const runDir = await mkdtemp(join(tmpdir(), 'prism-kafka-test-'));
  const [clientPort, controllerPort] = await freePorts(2);
  const t1 = Date.now();
  let state;
  try {
    state = await startBroker({
      version,
      libsDir: jars.libsDir,
      clientPort,
      controllerPort,
      runDir,
      detached: false,
    });
  } catch (err) {
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
  const address = brokerAddress(state);
  say(`Kafka ${version} ready at ${address} in ${Date.now() - t1} ms (run dir ${runDir})`);
  project.provide('kafkaBrokers', address);

  const started = state;
  return async () => {
    try {
      await stopBroker(started, { graceMs: 20_000 });
      say(`stopped Kafka at ${address}`);
    } finally {
      await rm(runDir, { recursive: true, force: true });
    }
  };
}
