/**
 * One static transactional.id per input partition (kafkajs has no KIP-447 fencing by group
 * generation): whoever owns `<topic>[<partition>]` in `<group>` uses this id, so a new owner's
 * InitProducerId fences the previous owner and aborts its open transaction.
 */
export function transactionalIdFor(
  prefix: string,
  groupId: string,
  topic: string,
  partition: number,
): string {
  return `${prefix}-${groupId}-${topic}-${partition}`;
}
