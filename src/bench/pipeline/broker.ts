import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../log.ts';
import { ensureKafkaJars } from '../../kafka/local/fetch-jars.ts';
import { freePorts } from '../../kafka/local/net.ts';
import { startBroker, stopBroker } from '../../kafka/local/process.ts';
import { brokerAddress } from '../../kafka/local/state.ts';
import { DEFAULT_KAFKA_VERSION, type KafkaVersion } from '../../kafka/local/versions.ts';

export interface BenchBroker {
  brokers: string[];
  /** Kafka version of a broker we started; null for --brokers. */
  version: KafkaVersion | null;
  /** JVM pid of a broker we started (its RSS is not part of the pipeline's). */
  pid: number | null;
  stop(): Promise<void>;
}

/**
 * The broker a pipeline benchmark runs against: the given `--brokers`, or a private one started
 * through src/kafka/local (the code behind `prism kafka up`) on free ephemeral ports in a temp
 * dir, stopped and deleted afterwards, so a bench never touches a developer's broker.
 */
export async function openBenchBroker(opts: {
  brokers?: string[];
  version?: KafkaVersion;
  logger: Logger;
}): Promise<BenchBroker> {
  if (opts.brokers !== undefined && opts.brokers.length > 0) {
    return { brokers: opts.brokers, version: null, pid: null, stop: async () => undefined };
  }
  const version = opts.version ?? DEFAULT_KAFKA_VERSION;
  const jars = await ensureKafkaJars({ version });
  const runDir = await mkdtemp(join(tmpdir(), 'prism-bench-kafka-'));
  const [clientPort, controllerPort] = await freePorts(2);
  try {
    const state = await startBroker({
      version,
      libsDir: jars.libsDir,
      clientPort,
      controllerPort,
      runDir,
      detached: false,
    });
    const address = brokerAddress(state);
    opts.logger.info({ address, version, runDir }, 'bench broker started');
    return {
      brokers: [address],
      version,
      pid: state.pid,
      stop: async () => {
        try {
          await stopBroker(state, { graceMs: 20_000 });
        } finally {
          await rm(runDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
}
