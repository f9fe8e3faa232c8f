import { ensureKafkaJars, type FetchProgress } from './fetch-jars.ts';
import { canConnect } from './net.ts';
import { defaultRunDir } from './paths.ts';
import { isOurBroker, startBroker, stopBroker, type StopResult } from './process.ts';
import { readState, clearState, type BrokerState } from './state.ts';
import type { KafkaVersion } from './versions.ts';

/** Ports of the CLI-managed broker; PRISM_KAFKA_BROKERS defaults to 127.0.0.1:19092 to match. */
export const DEFAULT_CLIENT_PORT = 19092;
export const DEFAULT_CONTROLLER_PORT = 19093;
/** SASL_SSL listener of `prism kafka up --secure`. */
export const DEFAULT_SECURE_PORT = 19094;

export interface UpOptions {
  version: KafkaVersion;
  clientPort?: number;
  controllerPort?: number;
  /** also start a SASL_SSL (SCRAM + TLS) listener on this port */
  securePort?: number;
  runDir?: string;
  cacheDir?: string;
  onFetchProgress?: (p: FetchProgress) => void;
  /** after the jar check, whether or not mvn ran */
  onFetchDone?: () => void;
}

export interface UpResult {
  state: BrokerState;
  /** false: a broker was already running in this run dir (nothing started) */
  started: boolean;
  /** jars were downloaded (cold cache) */
  fetched: boolean;
}

/** Start the broker of `runDir` unless it already runs (idempotent). */
export async function localBrokerUp(opts: UpOptions): Promise<UpResult> {
  const runDir = opts.runDir ?? defaultRunDir(opts.cacheDir);
  const existing = await readState(runDir);
  if (existing !== undefined) {
    if (isOurBroker(existing)) return { state: existing, started: false, fetched: false };
    await clearState(runDir); // stale: the JVM died or the machine rebooted
  }
  const jars = await ensureKafkaJars({
    version: opts.version,
    cacheDir: opts.cacheDir,
    onProgress: opts.onFetchProgress,
  }).finally(opts.onFetchDone);
  const state = await startBroker({
    version: opts.version,
    libsDir: jars.libsDir,
    clientPort: opts.clientPort ?? DEFAULT_CLIENT_PORT,
    controllerPort: opts.controllerPort ?? DEFAULT_CONTROLLER_PORT,
    securePort: opts.securePort,
    runDir,
    detached: true,
  });
  return { state, started: true, fetched: jars.fetched };
}

export interface DownResult extends StopResult {
  state?: BrokerState;
}

/** Stop the broker of `runDir` if one runs; removes its data dir and state. */
export async function localBrokerDown(runDir = defaultRunDir()): Promise<DownResult> {
  const state = await readState(runDir);
  if (state === undefined) return { wasRunning: false, killed: false };
  return { ...(await stopBroker(state)), state };
}

export type BrokerStatus =
  /** accepting: the client port takes TCP connections (false while starting or stopping) */
  | { running: true; state: BrokerState; accepting: boolean }
  /** stale: a state file whose JVM is gone */
  | { running: false; stale?: BrokerState };

export async function localBrokerStatus(runDir = defaultRunDir()): Promise<BrokerStatus> {
  const state = await readState(runDir);
  if (state === undefined) return { running: false };
  if (!isOurBroker(state)) return { running: false, stale: state };
  return { running: true, state, accepting: await canConnect(state.host, state.clientPort) };
}
