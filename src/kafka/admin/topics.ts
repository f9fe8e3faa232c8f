import kafkajs, { type Admin, type ITopicConfig } from 'kafkajs';
import { DEFAULT_TOPICS, type TopicsConfig } from '../../config/topics.ts';

// Node's CJS export detection stops before ConfigResourceTypes in kafkajs' index.js: go via default.
const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  name: string;
  partitions: number;
  /** -1: the broker's default.replication.factor */
  replicationFactor: number;
  configs: Readonly<Record<string, string>>;
}

/** Default retention of the scores topic (the arbitration window's changelog): 7 days, 256 MiB per partition. */
export const SCORES_RETENTION = { ms: 7 * 24 * 3_600_000, bytes: 256 * 1_048_576 } as const;

/**
 * The prism topics. model-updates is compacted: consumers only need the latest update per
 * key (model id), and a compacted topic keeps that forever without growing. scores (when named)
 * is the arbitration window's changelog: bounded by time and size, it only needs the last window.
 */
export function prismTopicSpecs(
  topics: Omit<TopicsConfig, 'scores'> & { scores?: string } = DEFAULT_TOPICS,
  opts: {
    partitions?: number;
    replicationFactor?: number;
    scoresRetention?: { ms: number; bytes: number };
  } = {},
): TopicSpec[] {
  const partitions = opts.partitions ?? 3;
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new RangeError(`partitions must be >= 1, got ${partitions}`);
  const replicationFactor = opts.replicationFactor ?? -1;
  const spec = (name: string, configs: Record<string, string> = {}): TopicSpec => ({
    name,
    partitions,
    replicationFactor,
    configs,
  });
  return [
    spec(topics.trajectories),
    spec(topics.sft),
    spec(topics.rl),
    spec(topics.dlq),
    spec(topics.modelUpdates, { 'cleanup.policy': 'compact' }),
    ...(topics.scores === undefined
      ? []
      : [
          spec(topics.scores, {
            'cleanup.policy': 'delete',
            'retention.ms': String(opts.scoresRetention?.ms ?? SCORES_RETENTION.ms),
            'retention.bytes': String(opts.scoresRetention?.bytes ?? SCORES_RETENTION.bytes),
          }),
        ]),
  ];
}

export interface EnsureTopicsResult {
  created: string[];
  /** already there (left untouched, even if their settings differ from the spec) */
  existing: string[];
}

function toKafkajs(spec: TopicSpec): ITopicConfig {
  return {
    topic: spec.name,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor,
    configEntries: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
  };
}

/** Create the topics that do not exist yet; existing ones are reported, not errors. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
  const present = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !present.has(s.name));
  const result: EnsureTopicsResult = {
    created: [],
    existing: specs.filter((s) => present.has(s.name)).map((s) => s.name),
  };
  if (missing.length === 0) return result;
  try {
    await admin.createTopics({ topics: missing.map(toKafkajs), waitForLeaders: true });
    result.created.push(...missing.map((s) => s.name));
  } catch (err) {
    // Someone else created some of them between our list and create: re-check instead of failing.
    const now = new Set(await admin.listTopics());
    if (!missing.every((s) => now.has(s.name))) throw err;
    result.existing.push(...missing.map((s) => s.name));
  }
  return result;
}

export interface TopicInfo {
  name: string;
  partitions: number;
  /** replication factor of partition 0 */
  replicationFactor: number;
  cleanupPolicy: string | undefined;
}

/** All non-internal topics, sorted by name, with partition count and cleanup.policy. */
export async function listTopics(admin: Admin): Promise<TopicInfo[]> {
  const names = (await admin.listTopics()).filter((n) => !n.startsWith('__')).sort();
  if (names.length === 0) return [];
  const { topics } = await admin.fetchTopicMetadata({ topics: names });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: ['cleanup.policy'],
    })),
  });
  const policy = new Map(
    configs.resources.map((r) => [
      r.resourceName,
      r.configEntries.find((c) => c.configName === 'cleanup.policy')?.configValue,
    ]),
  );
  const byName = new Map(topics.map((t) => [t.name, t]));
  return names.map((name) => {
    const meta = byName.get(name);
    return {
      name,
      partitions: meta?.partitions.length ?? 0,
      replicationFactor: meta?.partitions[0]?.replicas.length ?? 0,
      cleanupPolicy: policy.get(name),
    };
  });
}
