import type { Kafka } from 'kafkajs';
import { ConfigError } from '../src/errors.ts';
import { readManifest } from '../src/trainer/checkpoint/store.ts';

/** Shared by probe.mode follow for the tfjs scorer (probe-follow.ts) and the torch one (probe-follow-torch.ts). */

/** The step of a prism checkpoint folder (so older updates are ignored), -1 for a plain model folder. */
export async function checkpointStep(dir: string | undefined): Promise<number> {
  if (dir === undefined) return -1;
  try {
    return (await readManifest(dir)).step;
  } catch {
    return -1;
  }
}

export async function requireTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new ConfigError(
        `topics.modelUpdates: topic "${topic}" does not exist; probe.mode "follow" reads the trainers' ModelUpdates from it (create it with "prism topics create" or start a trainer)`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}
