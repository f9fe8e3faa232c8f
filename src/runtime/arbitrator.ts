import { readFileSync } from 'node:fs';
import { Arbitrator } from '../arbitration/arbitrator.ts';
import { parseCalibration, type CalibrationSeeds } from '../arbitration/calibration.ts';
import { policyFromConfig } from '../arbitration/from-config.ts';
import type { ArbitrationConfig } from '../config/arbitrator.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Metric } from '../schemas/types.ts';

/** Reads a `--calibrate` file (the pure parser lives in src/arbitration/calibration.ts). */
export function loadCalibration(path: string, metric: Metric): CalibrationSeeds {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--calibrate: cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return parseCalibration(text, metric, path);
}

/** The arbitrator `arbitration.*` describes, seeded from its calibration file if any. */
export function arbitratorFromConfig(cfg: ArbitrationConfig): Arbitrator {
  const policy = policyFromConfig(cfg);
  const seeds =
    cfg.calibrate !== undefined && policy.usesWindow ? loadCalibration(cfg.calibrate, cfg.metric) : undefined;
  return new Arbitrator({
    policy,
    metric: cfg.metric,
    windowSize: cfg.window,
    warmup: cfg.warmup,
    seeds,
    shared: cfg.state === 'kafka',
  });
}
