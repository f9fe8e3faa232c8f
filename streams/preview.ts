import { Arbitrator } from '../src/arbitration/arbitrator.ts';
import { policyFromConfig } from '../src/arbitration/from-config.ts';
import type { PrismConfig } from '../src/config/schema.ts';
import { log } from '../src/log.ts';
import { PipelineMetrics } from '../src/metrics/pipeline-metrics.ts';
import { DeterministicScorer, NoopScorer } from '../src/scorer/deterministic.ts';
import type { Scorer } from '../src/scorer/types.ts';
import { buildTopology } from './topology.ts';

/**
 * `prism run --describe`: the topology a config would run, built by the same buildTopology()
 * with stand-in I/O (no broker, no model load), so the description cannot drift from the code.
 */
export function buildTopologyPreview(c: PrismConfig): string {
  const a = c.arbitration;
  const scorer: Scorer =
    c.scorer.kind === 'noop'
      ? new NoopScorer()
      : c.scorer.kind === 'deterministic'
        ? new DeterministicScorer({ probeModelVersion: c.scorer.deterministic.probeModelVersion })
        : {
            probeModelId: c.scorer.modelDir ?? '<scorer.modelDir>',
            probeModelVersion: '<from model>',
            backend:
              c.scorer.kind === 'torch'
                ? `torch service (${c.scorer.torch.spawn ? 'spawned' : 'external'}, device ${c.scorer.torch.device}, dtype ${c.scorer.torch.dtype})`
                : c.scorer.backend,
            scoreBatch: async () => [],
            dispose: () => undefined,
          };
  const arbitrator = new Arbitrator({
    policy: policyFromConfig(a),
    metric: a.metric,
    windowSize: a.window,
    warmup: a.warmup,
  });
  const unused = (): never => {
    throw new Error('preview topology does not run');
  };
  const topology = buildTopology({
    config: c,
    scorer,
    arbitrator,
    decodeValue: unused,
    isFatalDecodeError: () => false,
    encodeScored: unused,
    deadLetter: unused,
    metrics: new PipelineMetrics({}, { defaultMetrics: false }),
    log,
  });
  return topology.describe();
}
