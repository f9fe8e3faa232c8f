import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KafkaVersion } from './versions.ts';

/** What a run dir records about the broker started in it (state.json). */
export interface BrokerState {
  pid: number;
  version: KafkaVersion;
  host: '127.0.0.1';
  clientPort: number;
  controllerPort: number;
  runDir: string;
  dataDir: string;
  serverPropertiesPath: string;
  /** broker log (log4j file appender) */
  logPath: string;
  /** JVM stdout/stderr */
  outPath: string;
  startedAt: string;
  /** `--secure`: the SASL_SSL listener (secrets are files, never values, here) */
  secure?: SecureListenerState;
}

export interface SecureListenerState {
  port: number;
  /** PEM of the CA clients must trust (kafka.ssl.caFile) */
  caFile: string;
  mechanism: 'scram-sha-512';
  username: string;
  /** 0600 file with the SCRAM password (kafka.sasl.passwordFile) */
  passwordFile: string;
}

export function brokerAddress(state: Pick<BrokerState, 'host' | 'clientPort'>): string {
  return `${state.host}:${state.clientPort}`;
}

function statePath(runDir: string): string {
  return join(runDir, 'state.json');
}

export async function readState(runDir: string): Promise<BrokerState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(runDir), 'utf8')) as BrokerState;
  } catch {
    return undefined;
  }
}

export async function writeState(state: BrokerState): Promise<void> {
  await mkdir(state.runDir, { recursive: true });
  const tmp = `${statePath(state.runDir)}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2));
  await rename(tmp, statePath(state.runDir));
}

export async function clearState(runDir: string): Promise<void> {
  await rm(statePath(runDir), { force: true });
}
