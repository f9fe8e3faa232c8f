import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PathChooser, type Calibration } from '../../src/scorer/path.ts';

const quiet = pino({ level: 'silent' });
const base: Calibration = {
  batchedMs: 100,
  perTrajectoryMs: 200,
  batchedCpuMs: 300,
  perTrajectoryCpuMs: 150,
  measure: 'wall',
  trajectories: 4,
  tokens: 400,
  maxRelDiff: 0,
};

describe('PathChooser', () => {
  it('uses a configured path from the start, except for single-trajectory batches', () => {
    const c = new PathChooser('batched', quiet);
    expect(c.pathFor(8)).toBe('batched');
    expect(c.pathFor(1)).toBe('per-trajectory');
  });

  it('asks for calibration under auto and then keeps the faster path by the chosen measure', () => {
    const wall = new PathChooser('auto', quiet);
    expect(wall.pathFor(4)).toBe('calibrate');
    expect(wall.record(base)).toBe('batched');
    expect(wall.pathFor(4)).toBe('batched');
    const cpu = new PathChooser('auto', quiet);
    expect(cpu.record({ ...base, measure: 'cpu' })).toBe('per-trajectory');
    expect(cpu.calibration?.measure).toBe('cpu');
  });
});
