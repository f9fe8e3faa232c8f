import { describe, expect, it } from 'vitest';
import {
  evaluateRouting,
  formatFamilyTable,
  formatRoutingTable,
  type EvalRecord,
} from '../../src/eval/index.ts';
import { formatStudyMarkdown, meanSd, summariseStudy, type StudyRun } from '../../src/eval/study.ts';

/** n records; positives score higher on gini (perfectly when `separated`), gini_size the other way. */
function records(n: number, separated: boolean): EvalRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const positive = i % 2 === 0;
    const gini = separated ? (positive ? 0.8 : 0.2) + i / 1e4 : (i % 7) / 7;
    return {
      id: `r${i}`,
      family: positive ? 'heat-first' : 'heat',
      positive,
      scores: { gini, kurtosis: 3, cv: gini, l2: 1, gini_relative: 0.5, gini_size: 1 - gini },
      responseTokens: 10 + (i % 5),
    };
  });
}

describe('evaluateRouting with the variant metrics', () => {
  it('evaluates gini_relative and gini_size like the paper metrics', () => {
    const e = evaluateRouting(records(40, true));
    const auc = (m: string) => e.rows.find((r) => r.router === 'prism' && r.metric === m)?.auc;
    expect(auc('gini')).toBe(1);
    expect(auc('gini_size')).toBe(0);
    expect(auc('gini_relative')).toBe(0.5); // all tied
    expect(e.families[0].rlShare).toHaveProperty('gini_size');
    expect(formatRoutingTable(e)).toMatch(/gini_size/);
    expect(formatFamilyTable(e)).toMatch(/RL% gini_relative/);
  });

  it('leaves out a metric no record carries (e.g. variants without norms)', () => {
    const base = records(20, true).map(({ scores: { gini, kurtosis, cv, l2 }, ...r }) => ({
      ...r,
      scores: { gini, kurtosis, cv, l2 },
    }));
    const e = evaluateRouting(base);
    expect(e.rows.some((r) => r.metric === 'gini_size' || r.metric === 'gini_relative')).toBe(false);
    expect(e.nonFinite).not.toHaveProperty('gini_size');
    expect(formatFamilyTable(e)).not.toMatch(/gini_size/);
  });
});

describe('signal study summary', () => {
  it('meanSd is the mean and the sample standard deviation', () => {
    expect(meanSd([1, 2, 3, 4])).toMatchObject({ n: 4, mean: 2.5 });
    expect(meanSd([1, 2, 3, 4]).sd).toBeCloseTo(Math.sqrt(5 / 3), 14);
    expect(meanSd([0.7]).sd).toBeNull();
    expect(() => meanSd([])).toThrow(/no values/);
  });

  it('groups AUCs by metric and warm-start length over the seeds, without the inverse rows', () => {
    const runs: StudyRun[] = [
      { seed: 1, warmStartSteps: 0, evaluation: evaluateRouting(records(40, false)) },
      { seed: 2, warmStartSteps: 0, evaluation: evaluateRouting(records(40, true)) },
      { seed: 1, warmStartSteps: 40, evaluation: evaluateRouting(records(40, true)) },
      { seed: 2, warmStartSteps: 40, evaluation: evaluateRouting(records(40, true)) },
    ];
    const s = summariseStudy(runs);
    expect(s.warmStartSteps).toEqual([0, 40]);
    expect(s.seeds).toEqual([1, 2]);
    expect(s.routers).toEqual([
      'gini',
      'kurtosis',
      'cv',
      'l2',
      'gini_relative',
      'gini_size',
      'random',
      'length',
    ]);
    const unsep = runs[0].evaluation.rows.find((r) => r.router === 'prism' && r.metric === 'gini')?.auc;
    expect(s.cells.gini['0'].values).toEqual([unsep, 1]);
    expect(s.cells.gini['40']).toMatchObject({ n: 2, mean: 1, sd: 0 });
    const md = formatStudyMarkdown(s);
    expect(md.split('\n')[0]).toBe('| AUC (mean ± sd) | 0 warm-start steps | 40 warm-start steps |');
    expect(md).toMatch(/^\| gini \| 0\.\d{3} ± 0\.\d{3} \| 1\.000 ± 0\.000 \|$/m);
    expect(() => summariseStudy([])).toThrow(/no runs/);
  });
});
