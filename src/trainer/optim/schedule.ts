export type DecayKind = 'constant' | 'linear' | 'cosine';

export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  /** Linear warm-up from 0 to lr over this many optimizer steps (0 = none). */
  warmupSteps: number;
  /** After warm-up: constant (streams never end), or decay to lr·minLrRatio over decaySteps. */
  decay: DecayKind;
  decaySteps: number;
  minLrRatio: number;
}

/** Learning rate for optimizer step `step` (1-based: the first update is step 1). */
export function learningRate(step: number, s: LrSchedule): number {
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (s.lr * step) / s.warmupSteps;
  if (s.decay === 'constant' || s.decaySteps <= 0) return s.lr;
  const progress = Math.min(1, (step - s.warmupSteps) / s.decaySteps);
  const min = s.lr * s.minLrRatio;
  if (s.decay === 'linear') return s.lr - (s.lr - min) * progress;
  return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * progress));
}
