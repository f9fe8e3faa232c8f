import type { Admin } from 'kafkajs';

/** The group's committed offset for one partition, or null when none is committed. */
export async function fetchCommittedOffset(
  admin: Admin,
  groupId: string,
  topic: string,
  partition: number,
): Promise<string | null> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const p = entry?.partitions.find((x) => x.partition === partition);
  if (p === undefined || BigInt(p.offset) < 0n) return null;
  return p.offset;
}
