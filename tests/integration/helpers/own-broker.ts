/**
 * A private Kafka broker for fault tests (the shared one of global-setup.ts must never be killed):
 * same code as `prism kafka up`, free ephemeral ports, a temp run dir, and a fixed data dir so a
 * restart on the same ports keeps topics, offsets and transactions.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kafka } from 'kafkajs';
import { createKafka } from '../../../src/kafka/client.ts';
import { ensureKafkaJars } from '../../../src/kafka/local/fetch-jars.ts';
import { freePorts } from '../../../src/kafka/local/net.ts';
import { pidAlive, startBroker, stopBroker } from '../../../src/kafka/local/process.ts';
import { brokerAddress, type BrokerState } from '../../../src/kafka/local/state.ts';
import { parseKafkaVersion } from '../../../src/kafka/local/versions.ts';

export class OwnBroker {
  private state: BrokerState | undefined;

  private constructor(
    private readonly runDir: string,
    private readonly libsDir: string,
    private readonly ports: readonly [number, number],
  ) {}

  static async start(): Promise<OwnBroker> {
    const version = parseKafkaVersion(process.env.PRISM_KAFKA_VERSION);
    const jars = await ensureKafkaJars({ version });
    const runDir = await mkdtemp(join(tmpdir(), 'prism-kafka-fault-'));
    const [client, controller] = await freePorts(2);
    const b = new OwnBroker(runDir, jars.libsDir, [client, controller]);
    await b.up(false);
    return b;
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.ports[0]}`];
  }

  get pid(): number {
    return this.state?.pid ?? 0;
  }

  /** (Re)start on the same ports; keepData = restart on the existing data dir. */
  async up(keepData = true): Promise<void> {
    this.state = await startBroker({
      version: parseKafkaVersion(process.env.PRISM_KAFKA_VERSION),
      libsDir: this.libsDir,
      clientPort: this.ports[0],
      controllerPort: this.ports[1],
      runDir: this.runDir,
      detached: false,
      keepData,
    });
  }

  /** Stops the JVM with `signal` (SIGTERM: clean shutdown; SIGKILL: crash) and waits for it to exit. */
  async kill(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const pid = this.pid;
    process.kill(pid, signal);
    const deadline = Date.now() + 60_000;
    while (pidAlive(pid)) {
      if (Date.now() > deadline) throw new Error(`broker pid ${pid} did not exit after ${signal}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  address(): string {
    return this.state ? brokerAddress(this.state) : this.brokers[0];
  }

  kafka(clientId = 'fault-test'): Kafka {
    return createKafka({ brokers: this.brokers, clientId, logLevel: 'nothing' });
  }

  async destroy(): Promise<void> {
    try {
      if (this.state && pidAlive(this.state.pid)) await stopBroker(this.state, { graceMs: 10_000 });
    } finally {
      await rm(this.runDir, { recursive: true, force: true });
    }
  }
}

/** Every record of `topics`, read_committed, through run-reader.cjs (kafkajs read_committed fix). */
export async function readCommittedFrom(
  brokers: readonly string[],
  ...topics: string[]
): Promise<{ topic: string; key: string | null; headers: Record<string, string> }[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(import.meta.dirname, '..', 'run-reader.cjs'), brokers.join(','), ...topics],
    { maxBuffer: 512 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { topic: string; key: string | null; headers: Record<string, string> });
}
