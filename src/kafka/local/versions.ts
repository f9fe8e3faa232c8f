import { ConfigError } from '../../errors.ts';

/**
 * Kafka versions the local broker can run. 3.9.1 is the default because kafkajs 2.2.4 predates
 * Kafka 4.0, which removed old protocol versions (KIP-896); 4.1.1 is the compatibility target.
 * 4.0.x is left out on purpose: it lacks JoinGroup v0/v1 (back in 4.0.1/4.1.0, KAFKA-19444).
 */
export const SUPPORTED_KAFKA_VERSIONS = ['3.9.1', '4.1.1'] as const;
export type KafkaVersion = (typeof SUPPORTED_KAFKA_VERSIONS)[number];
export const DEFAULT_KAFKA_VERSION: KafkaVersion = '3.9.1';

/** Per release line: which deploy/local templates and which log4j flavour the JVM needs. */
export interface VersionLayout {
  /** pom template in deploy/local/ */
  readonly pomTemplate: string;
  /** broker log config in deploy/local/ */
  readonly serverLogConfig: string;
  /** StorageTool log config in deploy/local/ */
  readonly toolsLogConfig: string;
  /** JVM system property that points the backend at its config file */
  readonly logConfigFlag: (path: string) => string;
  /** extra server.properties lines for this line */
  readonly extraServerProperties: readonly string[];
}

const LOG4J1 = (path: string): string => `-Dlog4j.configuration=file:${path}`;
const LOG4J2 = (path: string): string => `-Dlog4j2.configurationFile=${path}`;

const LAYOUTS: Record<KafkaVersion, VersionLayout> = {
  '3.9.1': {
    pomTemplate: 'pom-3.9.xml.tmpl',
    serverLogConfig: 'log4j-3.9.properties',
    toolsLogConfig: 'tools-log4j-3.9.properties',
    logConfigFlag: LOG4J1,
    extraServerProperties: [],
  },
  '4.1.1': {
    pomTemplate: 'pom-4.1.xml.tmpl',
    serverLogConfig: 'log4j2-4.1.xml',
    toolsLogConfig: 'tools-log4j2-4.1.xml',
    logConfigFlag: LOG4J2,
    // Share groups (KIP-932) keep RF 3 / min ISR 2 defaults otherwise.
    extraServerProperties: [
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
    ],
  },
};

export function isKafkaVersion(value: string): value is KafkaVersion {
  return (SUPPORTED_KAFKA_VERSIONS as readonly string[]).includes(value);
}

/** Parse a user-supplied version (flag or env); undefined means the default. */
export function parseKafkaVersion(value: string | undefined): KafkaVersion {
  if (value === undefined || value === '') return DEFAULT_KAFKA_VERSION;
  if (isKafkaVersion(value)) return value;
  throw new ConfigError(
    `unsupported Kafka version "${value}" (--kafka-version): choose one of ${SUPPORTED_KAFKA_VERSIONS.join(', ')}`,
  );
}

export function versionLayout(version: KafkaVersion): VersionLayout {
  return LAYOUTS[version];
}
