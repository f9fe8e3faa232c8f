import { DEFAULT_LIMITS, type InputLimits } from '../config/input.ts';
import { validateTrajectory as validate } from '../schemas/validate.ts';
import type { Trajectory } from '../schemas/types.ts';

/**
 * src/schemas/validate.ts's rules for the file commands that take no configuration (score, eval,
 * model warm-start): `input.limits` defaults unless the caller passes limits.
 */
export function validateTrajectory(
  t: Trajectory,
  limits: Pick<InputLimits, 'maxTurns' | 'maxTokens'> = DEFAULT_LIMITS,
): Trajectory {
  return validate(t, limits);
}
