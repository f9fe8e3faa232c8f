export type { ScoreOutcome, Scorer } from './types.ts';
export { PrismScorer, type PrismScorerOptions, type ScorableModel } from './prism-scorer.ts';
export { ScorerError, type ScorerErrorCode } from './errors.ts';
export { PathChooser, type ScorerPath, type Calibration } from './path.ts';
export {
  batchedProbeNorms,
  perTrajectoryNorms,
  referenceNorms,
  trainingStepGrads,
  chooseNormMethod,
  type NormMethod,
  type NormMethodSetting,
  type SplitMode,
  type NormsResult,
  type PerExampleLossFn,
} from './norms.ts';
export { projectionShapes, type ProbeModel, type ProjectionShape } from './probe-model.ts';
