import type { PipelineMetrics } from '../metrics/pipeline-metrics.ts';

/**
 * Total consumer lag (records) over all partitions, read from the pipeline's prism_consumer_lag
 * gauge; null before any partition has reported a high watermark.
 */
export async function pipelineLag(metrics: PipelineMetrics): Promise<number | null> {
  const m = await metrics.consumerLag.get();
  if (m.values.length === 0) return null;
  return m.values.reduce((sum, v) => sum + v.value, 0);
}
