/**
 * kafkajs heartbeats only between batches (tulios/kafkajs#1083): whenever the eachBatch handler
 * awaits something slow (opening a transactional producer, waiting for a revoked lane to drain),
 * call heartbeat() on a timer until it settles, so the member is not evicted.
 *
 * A heartbeat that fails (typically REBALANCE_IN_PROGRESS) is not swallowed: it is rethrown once
 * the work settles, so kafkajs rejoins the group right away.
 */
export async function withHeartbeat<T>(
  heartbeat: () => Promise<void>,
  intervalMs: number,
  work: Promise<T>,
): Promise<T> {
  let failure: { error: unknown } | undefined;
  let beating = false;
  const timer = setInterval(() => {
    if (beating || failure) return;
    beating = true;
    heartbeat()
      .catch((error: unknown) => {
        failure = { error };
      })
      .finally(() => {
        beating = false;
      });
  }, intervalMs);
  try {
    const result = await work;
    if (failure) throw failure.error;
    return result;
  } finally {
    clearInterval(timer);
  }
}
