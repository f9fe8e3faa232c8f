import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BrokerError } from '../errors.ts';
import { DEFAULT_CLIENT_PORT, DEFAULT_CONTROLLER_PORT } from '../kafka/local/broker.ts';
import { ensureKafkaJars, type FetchProgress } from '../kafka/local/fetch-jars.ts';
import { freePorts, isPortFree } from '../kafka/local/net.ts';
import { cacheRoot } from '../kafka/local/paths.ts';
import { isOurBroker, pidAlive, startBroker, stopBroker, type StopResult } from '../kafka/local/process.ts';
import { brokerAddress, readState, type BrokerState } from '../kafka/local/state.ts';
import type { KafkaVersion } from '../kafka/local/versions.ts';
import type { Logger } from '../log.ts';

export interface DemoBroker {
  readonly state: BrokerState;
  readonly address: string;
  /** The Kafka jars were downloaded by this run (first run on this machine). */
  readonly fetched: boolean;
  /** false: the default port was taken (e.g. by `prism kafka up`), so the demo picked free ports. */
  readonly defaultPorts: boolean;
  stop(): Promise<StopResult>;
}

export interface DemoBrokerOptions {
  readonly version: KafkaVersion;
  readonly log: Logger;
  readonly onFetchProgress?: (p: FetchProgress) => void;
  /** Default ~/.cache/prism-stream. */
  readonly cacheDir?: string;
}

const PREFIX = 'broker-';

/** <cache>/demo: one run dir per demo process, named after its pid. */
export function demoBrokerRoot(root = cacheRoot()): string {
  return join(root, 'demo');
}

/**
 * Stops brokers left behind by demo processes that no longer exist (killed with SIGKILL, say):
 * their run dir is named after the demo's pid, and its state.json names the broker's pid.
 */
export async function cleanStaleDemoBrokers(root: string, log: Logger): Promise<number> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return 0;
  }
  let stopped = 0;
  for (const name of names) {
    const owner = Number(name.slice(PREFIX.length));
    if (!name.startsWith(PREFIX) || !Number.isInteger(owner) || owner === process.pid || pidAlive(owner))
      continue;
    const dir = join(root, name);
    const state = await readState(dir);
    if (state !== undefined && isOurBroker(state)) {
      log.warn({ pid: state.pid, runDir: dir }, 'stopping a broker left behind by an earlier demo');
      await stopBroker(state, { graceMs: 10_000 });
      stopped++;
    }
    await rm(dir, { recursive: true, force: true });
  }
  return stopped;
}

/** 19092/19093 when free (so `prism consume` etc. work without --brokers), else two free ports. */
async function choosePorts(): Promise<{ client: number; controller: number; defaults: boolean }> {
  if (
    (await isPortFree('127.0.0.1', DEFAULT_CLIENT_PORT)) &&
    (await isPortFree('127.0.0.1', DEFAULT_CONTROLLER_PORT))
  ) {
    return { client: DEFAULT_CLIENT_PORT, controller: DEFAULT_CONTROLLER_PORT, defaults: true };
  }
  const [client, controller] = await freePorts(2);
  return { client, controller, defaults: false };
}

/**
 * A broker of the demo's own: its own run dir and a freshly formatted data dir (topics start
 * empty), never the one `prism kafka up` manages. Detached from our process group, so Ctrl-C
 * reaches only us and we stop it last, after the clients that use it.
 */
export async function startDemoBroker(o: DemoBrokerOptions): Promise<DemoBroker> {
  const root = demoBrokerRoot(o.cacheDir);
  await cleanStaleDemoBrokers(root, o.log);
  const jars = await ensureKafkaJars({
    version: o.version,
    cacheDir: o.cacheDir,
    onProgress: o.onFetchProgress,
  });
  const runDir = join(root, `${PREFIX}${process.pid}`);
  const start = async (): Promise<{ state: BrokerState; defaults: boolean }> => {
    const ports = await choosePorts();
    const state = await startBroker({
      version: o.version,
      libsDir: jars.libsDir,
      clientPort: ports.client,
      controllerPort: ports.controller,
      runDir,
      detached: true,
    });
    return { state, defaults: ports.defaults };
  };
  let started: { state: BrokerState; defaults: boolean };
  try {
    started = await start();
  } catch (err) {
    // Someone took a port between our check and the bind: one more try on fresh ports.
    if (!(err instanceof BrokerError && err.code === 'PORT_IN_USE')) throw err;
    started = await start();
  }
  const { state } = started;
  o.log.info({ pid: state.pid, address: brokerAddress(state), runDir }, 'demo broker started');
  return {
    state,
    address: brokerAddress(state),
    fetched: jars.fetched,
    defaultPorts: started.defaults,
    async stop() {
      const res = await stopBroker(state, { graceMs: 15_000 });
      await rm(runDir, { recursive: true, force: true });
      return res;
    },
  };
}
