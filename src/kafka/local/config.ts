import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployLocalDir } from './paths.ts';
import { renderTemplate } from './template.ts';
import { versionLayout, type KafkaVersion } from './versions.ts';

/**
 * Fixed KRaft cluster id (22-char base64url of 16 bytes, not starting with '-'): saves a JVM start
 * for `StorageTool random-uuid`; each run formats a fresh data dir anyway.
 */
export const LOCAL_CLUSTER_ID = '4L6g3nShT-eMCtK--X86sw';

export interface ServerConfigInput {
  version: KafkaVersion;
  clientPort: number;
  controllerPort: number;
  /** absolute path of the (fresh) data dir, becomes log.dirs */
  dataDir: string;
  /** `--secure`: a SASL_SSL listener on this port with these extra lines (secure.ts) */
  secure?: { port: number; lines: readonly string[] };
}

function assertPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${name} must be an integer in 1..65535, got ${port}`);
  }
}

/** server.properties for one single-node KRaft broker+controller on 127.0.0.1. */
export function renderServerProperties(input: ServerConfigInput, templateDir = deployLocalDir()): string {
  assertPort('clientPort', input.clientPort);
  assertPort('controllerPort', input.controllerPort);
  if (input.secure !== undefined) {
    assertPort('securePort', input.secure.port);
    if ([input.clientPort, input.controllerPort].includes(input.secure.port))
      throw new RangeError(
        `the secure port must differ from the client and controller ports (${input.secure.port})`,
      );
  }
  if (input.clientPort === input.controllerPort) {
    throw new RangeError(`client and controller port must differ (both ${input.clientPort})`);
  }
  const template = readFileSync(join(templateDir, 'server.properties.tmpl'), 'utf8');
  const extra = versionLayout(input.version).extraServerProperties;
  return renderTemplate(template, {
    clientPort: input.clientPort,
    controllerPort: input.controllerPort,
    // java.util.Properties treats backslash as an escape; forward slashes work on every OS.
    dataDir: input.dataDir.replaceAll('\\', '/'),
    versionSpecific: extra.length > 0 ? `\n# Kafka ${input.version}\n${extra.join('\n')}\n` : '',
    secureListener: input.secure === undefined ? '' : `,SASL_SSL://127.0.0.1:${input.secure.port}`,
    secureProtocol: input.secure === undefined ? '' : ',SASL_SSL:SASL_SSL',
    secureSection:
      input.secure === undefined ? '' : `\n# prism kafka up --secure\n${input.secure.lines.join('\n')}\n`,
  });
}

export interface LogConfigFiles {
  /** file name (in deploy/local and, copied, in the run dir) of the broker log config */
  serverFile: string;
  serverContent: string;
  toolsFile: string;
  toolsContent: string;
}

/** The log backend configs for `version` (static files; kafka.logs.dir comes as a JVM property). */
export function loadLogConfigs(version: KafkaVersion, templateDir = deployLocalDir()): LogConfigFiles {
  const layout = versionLayout(version);
  return {
    serverFile: layout.serverLogConfig,
    serverContent: readFileSync(join(templateDir, layout.serverLogConfig), 'utf8'),
    toolsFile: layout.toolsLogConfig,
    toolsContent: readFileSync(join(templateDir, layout.toolsLogConfig), 'utf8'),
  };
}

export interface JvmArgsInput {
  version: KafkaVersion;
  libsDir: string;
  logsDir: string;
  logConfigPath: string;
  tmpDir: string;
  heapMb?: number;
}

/** JVM flags of the shipped kafka-server-start.sh, minus JMX and GC logging, with a smaller heap. */
export function brokerJvmArgs(input: JvmArgsInput, serverPropertiesPath: string): string[] {
  const heap = input.heapMb ?? 512;
  return [
    `-Xms${Math.min(256, heap)}m`,
    `-Xmx${heap}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    // zstd-jni/snappy unpack native libs here; the system tmp may be noexec.
    `-Djava.io.tmpdir=${input.tmpDir}`,
    `-Dkafka.logs.dir=${input.logsDir}`,
    versionLayout(input.version).logConfigFlag(input.logConfigPath),
    // Passed unexpanded: the JVM expands `dir/*` to the jars in it (a shell would expand it wrongly).
    '-cp',
    join(input.libsDir, '*'),
    'kafka.Kafka',
    serverPropertiesPath,
  ];
}

/** StorageTool arguments that format `server.properties`' log dir with the fixed cluster id. */
export function formatJvmArgs(
  input: Pick<JvmArgsInput, 'version' | 'libsDir' | 'tmpDir'> & { toolsLogConfigPath: string },
  serverPropertiesPath: string,
  extraArgs: readonly string[] = [],
): string[] {
  return [
    '-Xmx256m',
    `-Djava.io.tmpdir=${input.tmpDir}`,
    versionLayout(input.version).logConfigFlag(input.toolsLogConfigPath),
    '-cp',
    join(input.libsDir, '*'),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    LOCAL_CLUSTER_ID,
    '-c',
    serverPropertiesPath,
    // Static controller.quorum.voters + plain format: never --standalone (an error on 4.1).
    '--ignore-formatted',
    ...extraArgs,
  ];
}
