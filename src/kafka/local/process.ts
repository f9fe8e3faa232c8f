import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerError } from '../../errors.ts';
import {
  brokerJvmArgs,
  formatJvmArgs,
  loadLogConfigs,
  renderServerProperties,
  type LogConfigFiles,
} from './config.ts';
import { execCollect, tailLines } from './exec.ts';
import { canConnect, isPortFree } from './net.ts';
import { deployLocalDir } from './paths.ts';
import {
  createSecureMaterial,
  scramFormatArgs,
  secureServerProperties,
  type SecureMaterial,
} from './secure.ts';
import { requireJava } from './prerequisites.ts';
import { brokerAddress, clearState, writeState, type BrokerState } from './state.ts';
import type { KafkaVersion } from './versions.ts';

const HOST = '127.0.0.1';

export interface StartBrokerOptions {
  version: KafkaVersion;
  /** folder of the broker jars (ensureKafkaJars) */
  libsDir: string;
  clientPort: number;
  controllerPort: number;
  /** Also listen with SASL_SSL (SCRAM user + throw-away CA, see secure.ts) on this port. */
  securePort?: number;
  /** configs, logs, state.json; created if missing */
  runDir: string;
  /** log.dirs; wiped and formatted on every start unless keepData. Default `<runDir>/data` */
  dataDir?: string;
  /**
   * Restart on an existing data dir (topics, offsets and transactions survive): it is not wiped,
   * and formatting skips it when already formatted (`--ignore-formatted`). Default false.
   */
  keepData?: boolean;
  heapMb?: number;
  /** readiness budget; default 60 s */
  startTimeoutMs?: number;
  /**
   * true (CLI): the JVM gets its own process group and outlives the CLI. false (tests): it stays
   * in our group, so Ctrl-C on the test run reaches it too.
   */
  detached?: boolean;
}

/** Signal-0 probe; a zombie (exited, not yet reaped) counts as dead. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust signal 0
  }
}

/**
 * True if `state.pid` is alive and still the broker we started (its command line names our
 * server.properties), so a recycled pid is never signalled.
 */
export function isOurBroker(state: BrokerState): boolean {
  if (!pidAlive(state.pid)) return false;
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    const cmdline = readFileSync(`/proc/${state.pid}/cmdline`, 'utf8');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(state.serverPropertiesPath);
  } catch {
    return false;
  }
}

async function fileTail(path: string, n: number): Promise<string> {
  try {
    return tailLines(await readFile(path, 'utf8'), n);
  } catch {
    return '';
  }
}

/** The last lines of the broker log and the JVM output, for error messages. */
export async function logTail(state: Pick<BrokerState, 'logPath' | 'outPath'>, n = 20): Promise<string> {
  const parts: string[] = [];
  const log = await fileTail(state.logPath, n);
  if (log !== '') parts.push(`--- ${state.logPath} (tail)\n${log}`);
  const out = await fileTail(state.outPath, n);
  if (out !== '') parts.push(`--- ${state.outPath} (tail)\n${out}`);
  return parts.length > 0 ? parts.join('\n') : '(no broker output)';
}

function scrub(text: string, secret: string | undefined): string {
  return secret === undefined ? text : text.split(secret).join('[redacted]');
}

async function assertPortsFree(ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    if (!(await isPortFree(HOST, port))) {
      throw new BrokerError(
        'PORT_IN_USE',
        `port ${port} on ${HOST} is already in use (another broker? see \`npx prism kafka status\`), ` +
          'or choose other ports with --port / --controller-port',
      );
    }
  }
}

/** Where one start puts its files. */
interface BrokerLayout {
  runDir: string;
  dataDir: string;
  logsDir: string;
  tmpDir: string;
  serverPropertiesPath: string;
}

function brokerLayout(opts: StartBrokerOptions): BrokerLayout {
  const runDir = resolve(opts.runDir);
  return {
    runDir,
    dataDir: resolve(opts.dataDir ?? join(runDir, 'data')),
    logsDir: join(runDir, 'logs'),
    tmpDir: join(runDir, 'tmp'),
    serverPropertiesPath: join(runDir, 'server.properties'),
  };
}

function initialState(opts: StartBrokerOptions, layout: BrokerLayout): BrokerState {
  return {
    pid: 0,
    version: opts.version,
    host: HOST,
    clientPort: opts.clientPort,
    controllerPort: opts.controllerPort,
    runDir: layout.runDir,
    dataDir: layout.dataDir,
    serverPropertiesPath: layout.serverPropertiesPath,
    logPath: join(layout.logsDir, 'server.log'),
    outPath: join(layout.runDir, 'kafka.out'),
    startedAt: new Date().toISOString(),
  };
}

interface PreparedRunDir {
  /** undefined without --secure */
  material: SecureMaterial | undefined;
  logs: LogConfigFiles;
}

/**
 * Fresh (or kept) data dir, empty logs, the secure material when asked for, server.properties and
 * the log configurations in the run dir.
 */
async function prepareRunDir(
  opts: StartBrokerOptions,
  layout: BrokerLayout,
  state: BrokerState,
): Promise<PreparedRunDir> {
  const { runDir, dataDir, serverPropertiesPath } = layout;
  if (opts.keepData !== true) await rm(dataDir, { recursive: true, force: true });
  await Promise.all([dataDir, layout.logsDir, layout.tmpDir].map((d) => mkdir(d, { recursive: true })));
  await Promise.all([rm(state.logPath, { force: true }), rm(state.outPath, { force: true })]);
  const material = opts.securePort === undefined ? undefined : await createSecureMaterial(runDir);
  if (material !== undefined && opts.securePort !== undefined) {
    state.secure = {
      port: opts.securePort,
      caFile: material.caFile,
      mechanism: 'scram-sha-512',
      username: material.username,
      passwordFile: material.passwordFile,
    };
  }
  await rm(serverPropertiesPath, { force: true });
  await writeFile(
    serverPropertiesPath,
    renderServerProperties({
      ...opts,
      dataDir,
      secure:
        material === undefined || opts.securePort === undefined
          ? undefined
          : { port: opts.securePort, lines: secureServerProperties(opts.securePort, material) },
    }),
    // It holds the keystore password when secure.
    { mode: 0o600 },
  );
  const logs = loadLogConfigs(opts.version);
  const templates = deployLocalDir();
  await copyFile(join(templates, logs.serverFile), join(runDir, logs.serverFile));
  await copyFile(join(templates, logs.toolsFile), join(runDir, logs.toolsFile));
  return { material, logs };
}

/** StorageTool `format` of the data dir (with the SCRAM user when secure). */
async function formatStorage(
  java: string,
  opts: StartBrokerOptions,
  layout: BrokerLayout,
  { material, logs }: PreparedRunDir,
): Promise<void> {
  const format = await execCollect(
    java,
    formatJvmArgs(
      {
        version: opts.version,
        libsDir: opts.libsDir,
        tmpDir: layout.tmpDir,
        toolsLogConfigPath: join(layout.runDir, logs.toolsFile),
      },
      layout.serverPropertiesPath,
      material === undefined ? [] : scramFormatArgs(material),
    ),
  );
  if (format.code !== 0) {
    throw new BrokerError(
      'BROKER_FORMAT_FAILED',
      `formatting ${layout.dataDir} failed (exit ${format.code ?? format.signal}):\n${scrub(tailLines(format.output, 20), material?.password)}`,
    );
  }
}

/** Spawns the broker JVM (output appended to kafka.out) and records its pid in `state`. */
function spawnBroker(
  java: string,
  opts: StartBrokerOptions,
  layout: BrokerLayout,
  logs: LogConfigFiles,
  state: BrokerState,
): { exited: () => boolean } {
  const out = openSync(state.outPath, 'a');
  let exited = false;
  try {
    const child = spawn(
      java,
      brokerJvmArgs(
        {
          version: opts.version,
          libsDir: opts.libsDir,
          logsDir: layout.logsDir,
          logConfigPath: join(layout.runDir, logs.serverFile),
          tmpDir: layout.tmpDir,
          heapMb: opts.heapMb,
        },
        layout.serverPropertiesPath,
      ),
      { cwd: layout.runDir, detached: opts.detached ?? true, stdio: ['ignore', out, out] },
    );
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', () => {
      exited = true;
    });
    child.unref();
    if (child.pid === undefined) throw new BrokerError('BROKER_EXITED', `could not spawn ${java}`);
    state.pid = child.pid;
  } finally {
    closeSync(out);
  }
  return { exited: () => exited };
}

/** Polls the client port every 250 ms until it accepts TCP; fails fast if the JVM dies, stops it on timeout. */
async function awaitBrokerReady(
  opts: StartBrokerOptions,
  state: BrokerState,
  exited: () => boolean,
): Promise<BrokerState> {
  const budget = opts.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + budget;
  while (Date.now() < deadline) {
    if (exited() || !pidAlive(state.pid)) {
      await clearState(state.runDir);
      throw new BrokerError(
        'BROKER_EXITED',
        `Kafka ${opts.version} exited during start-up (pid ${state.pid}):\n${await logTail(state)}`,
      );
    }
    if (await canConnect(HOST, opts.clientPort, 1000)) return state;
    await sleep(250);
  }
  const tail = await logTail(state);
  await stopBroker(state, { graceMs: 5000 });
  throw new BrokerError(
    'BROKER_START_TIMEOUT',
    `Kafka ${opts.version} did not accept connections on ${brokerAddress(state)} within ${budget / 1000} s:\n${tail}`,
  );
}

/**
 * Format a fresh data dir, start the broker JVM and wait until its client port accepts TCP (which
 * Kafka opens only once the broker is registered and unfenced). Polls every 250 ms; fails fast with
 * the log tail if the JVM dies, and stops it if the budget runs out.
 */
export async function startBroker(opts: StartBrokerOptions): Promise<BrokerState> {
  const java = await requireJava();
  await assertPortsFree([
    opts.clientPort,
    opts.controllerPort,
    ...(opts.securePort === undefined ? [] : [opts.securePort]),
  ]);
  const layout = brokerLayout(opts);
  const state = initialState(opts, layout);
  const prepared = await prepareRunDir(opts, layout, state);
  await formatStorage(java, opts, layout, prepared);
  const { exited } = spawnBroker(java, opts, layout, prepared.logs, state);
  // Recorded before readiness, so `prism kafka down` can stop a start that is interrupted.
  await writeState(state);
  return awaitBrokerReady(opts, state, exited);
}

export interface StopBrokerOptions {
  /** wait this long after SIGTERM before SIGKILL; default 30 s */
  graceMs?: number;
  /** remove the data dir afterwards; default true */
  deleteData?: boolean;
}

export interface StopResult {
  /** the recorded pid was our running broker */
  wasRunning: boolean;
  /** SIGTERM was not enough */
  killed: boolean;
}

/** Signal, ignoring a process that exited in the meantime. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(250);
  }
  return !pidAlive(pid);
}

/** SIGTERM the recorded pid (the shutdown hook stops broker, then controller), SIGKILL after the grace. */
export async function stopBroker(state: BrokerState, opts: StopBrokerOptions = {}): Promise<StopResult> {
  const result: StopResult = { wasRunning: isOurBroker(state), killed: false };
  if (result.wasRunning) {
    signal(state.pid, 'SIGTERM');
    if (!(await waitForExit(state.pid, opts.graceMs ?? 30_000))) {
      result.killed = true;
      signal(state.pid, 'SIGKILL');
      if (!(await waitForExit(state.pid, 10_000))) {
        throw new BrokerError('BROKER_STOP_FAILED', `broker pid ${state.pid} survived SIGTERM and SIGKILL`);
      }
    }
  }
  if (opts.deleteData ?? true) await rm(state.dataDir, { recursive: true, force: true });
  await clearState(state.runDir);
  return result;
}
