import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { arbitratorFromConfig } from '../../src/runtime/arbitrator.ts';
import { parseCalibration } from '../../src/arbitration/calibration.ts';
import { arbitrationSection } from '../../src/config/arbitrator.ts';
import { ConfigError } from '../../src/errors.ts';

describe('calibration file', () => {
  it('accepts plain scores, {score}, score objects and scored records', () => {
    const text = [
      '0.1',
      '{"score": 0.2}',
      '{"gini": 0.3, "cv": 9}',
      '',
      '{"trajectory": {}, "prism": {"gini": 0.4, "probe_model_id": "m", "probe_model_version": "7"}}',
    ].join('\n');
    const seeds = parseCalibration(text, 'gini', 'cal.jsonl');
    expect(seeds.unversioned).toEqual([0.1, 0.2, 0.3]);
    expect([...seeds.byWindow]).toEqual([['m@7', [0.4]]]);
  });

  it('names file and line of a bad entry', () => {
    expect(() => parseCalibration('0.1\n{"cv": 1}\n', 'gini', 'cal.jsonl')).toThrow(/cal\.jsonl:2/);
    expect(() => parseCalibration('0.1\nnope\n', 'gini', 'cal.jsonl')).toThrow(ConfigError);
    expect(() => parseCalibration('{"gini": "x"}', 'gini', 'c')).toThrow(/gini must be a finite number/);
    expect(() => parseCalibration('\n', 'gini', 'c')).toThrow(/no scores/);
  });

  it('seeds the arbitrator built from config so routing starts warm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-cal-'));
    try {
      const file = join(dir, 'cal.jsonl');
      writeFileSync(file, [1, 2, 3, 4, 5].join('\n'));
      const cfg = arbitrationSection.parse({ warmup: 5, window: 10, calibrate: file });
      const arb = arbitratorFromConfig(cfg);
      const probe = { modelId: 'x', version: '1' };
      expect(arb.isWarm(probe)).toBe(true);
      expect(arb.decide(probe, 3)).toMatchObject({ route: 'SFT', threshold: 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
