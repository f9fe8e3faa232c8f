import type { ArbitrationConfig } from '../config/arbitrator.ts';
import { medianPolicy, quantilePolicy, thresholdPolicy, type Policy } from './policy.ts';

export function policyFromConfig(cfg: ArbitrationConfig): Policy {
  switch (cfg.policy) {
    case 'median':
      return medianPolicy();
    case 'quantile':
      return quantilePolicy(cfg.quantile);
    case 'threshold':
      // The schema guarantees a threshold for this policy.
      return thresholdPolicy(cfg.threshold ?? Number.NaN);
  }
}
