import type { Kafka } from 'kafkajs';
import { ensureTopics } from '../../kafka/admin/topics.ts';
import { initModel } from '../../model/llama.ts';
import { saveModel } from '../../model-store/llama.ts';

/** Topics of one benchmark column: an input with broker append timestamps and its outputs. */
export interface BenchTopics {
  input: string;
  /** plain: [out]; prism: [sft, rl, dlq]. */
  outputs: string[];
}

/**
 * Creates fresh topics named `bench.<stamp>.*`. The input uses message.timestamp.type=LogAppendTime
 * so every record carries the broker's append time: the start of the end-to-end latency.
 */
export async function createBenchTopics(
  kafka: Kafka,
  stamp: string,
  partitions: number,
  kind: 'plain' | 'prism',
): Promise<BenchTopics> {
  const input = `bench.${stamp}.in`;
  const outputs =
    kind === 'plain' ? [`bench.${stamp}.out`] : ['sft', 'rl', 'dlq'].map((s) => `bench.${stamp}.${s}`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      {
        name: input,
        partitions,
        replicationFactor: -1,
        configs: { 'message.timestamp.type': 'LogAppendTime' },
      },
      ...outputs.map((name) => ({ name, partitions, replicationFactor: -1, configs: {} })),
    ]);
  } finally {
    await admin.disconnect();
  }
  return { input, outputs };
}

export async function deleteBenchTopics(kafka: Kafka, t: BenchTopics): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [t.input, ...t.outputs] });
  } finally {
    await admin.disconnect();
  }
}

/** `prism run` arguments for a bench column: its topics, group, scorer flags and a fixed /metrics port. */
export function prismRunArgs(o: {
  brokers: string;
  group: string;
  topics: BenchTopics;
  httpPort: number;
  scorer: string[];
}): string[] {
  const [sft, rl, dlq] = o.topics.outputs;
  return [
    'run',
    '--brokers',
    o.brokers,
    '--group',
    o.group,
    ...o.scorer,
    '--http-port',
    String(o.httpPort),
    ...['trajectories', 'sft', 'rl', 'dlq'].flatMap((k, i) => [
      '--set',
      `topics.${k}=${[o.topics.input, sft, rl, dlq][i]}`,
    ]),
  ];
}

/** Writes the tiny preset (seed 0, random weights) as a model folder; returns its vocabulary size. */
export async function writeTinyModel(dir: string): Promise<number> {
  const model = initModel({ preset: 'tiny', arch: 'llama', seed: 0 });
  try {
    await saveModel(model, dir);
    return model.config.vocab_size;
  } finally {
    model.dispose();
  }
}
