import type { ArbitrationConfig } from '../config/arbitrator.ts';
import { Arbitrator } from './arbitrator.ts';
import { loadCalibration } from './calibration.ts';
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

export function arbitratorFromConfig(cfg: ArbitrationConfig): Arbitrator {
  const policy = policyFromConfig(cfg);
  const seeds =
    cfg.calibrate !== undefined && policy.usesWindow ? loadCalibration(cfg.calibrate, cfg.metric) : undefined;
  return new Arbitrator({ policy, metric: cfg.metric, windowSize: cfg.window, warmup: cfg.warmup, seeds });
}
