import type { Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import { readerTypes } from '../../src/schemas/bundled.ts';
import type { ModelUpdate, PrismBlock, ScoredTrajectory, Trajectory, Turn } from '../../src/schemas/types.ts';

/**
 * src/schemas/types.ts must mirror schemas/*.avsc field by field. Each list below is checked
 * both ways: by the compiler (every name is a key of the TS type, and no key is missing) and at
 * run time (same names, same order as the Avro record).
 */
type Exact<T, L extends readonly (keyof T)[]> = Exclude<keyof T, L[number]> extends never ? L : never;
const fields =
  <T>() =>
  <L extends readonly (keyof T)[]>(l: Exact<T, L>): readonly string[] =>
    l as readonly string[];

const TRAJECTORY = fields<Trajectory>()([
  'id',
  'task_id',
  'env',
  'turns',
  'reward',
  'metadata',
  'created_at',
  'behavior_model_version',
] as const);
const TURN = fields<Turn>()(['role', 'content', 'token_ids', 'logprobs'] as const);
const SCORED = fields<ScoredTrajectory>()(['trajectory', 'prism'] as const);
const PRISM = fields<PrismBlock>()([
  'gini',
  'kurtosis',
  'cv',
  'l2',
  'loss',
  'response_tokens',
  'truncated',
  'norms',
  'metric',
  'threshold',
  'route',
  'probe_model_id',
  'probe_model_version',
  'scored_at',
  'source_topic',
  'source_partition',
  'source_offset',
] as const);
const MODEL_UPDATE = fields<ModelUpdate>()([
  'model_id',
  'version',
  'step',
  'uri',
  'sha256',
  'created_at',
  'trainer',
  'metrics',
] as const);

interface RecordLike {
  fields: { name: string; type: Type & { itemsType?: RecordLike } }[];
  field(name: string): { type: Type };
}
const names = (t: unknown): string[] => (t as RecordLike).fields.map((f) => f.name);

describe('src/schemas/types.ts mirrors schemas/*.avsc', () => {
  const types = readerTypes();
  it('Trajectory and Turn', () => {
    expect(names(types.trajectory)).toEqual(TRAJECTORY);
    const turns = (types.trajectory as unknown as RecordLike).field('turns').type as unknown as {
      itemsType: unknown;
    };
    expect(names(turns.itemsType)).toEqual(TURN);
  });
  it('ScoredTrajectory and its prism block', () => {
    expect(names(types['scored-trajectory'])).toEqual(SCORED);
    expect(names((types['scored-trajectory'] as unknown as RecordLike).field('prism').type)).toEqual(PRISM);
  });
  it('ModelUpdate', () => {
    expect(names(types['model-update'])).toEqual(MODEL_UPDATE);
  });
  it('uses double for every score and string for the source offset', () => {
    const prism = (types['scored-trajectory'] as unknown as RecordLike).field('prism')
      .type as unknown as RecordLike;
    for (const f of ['gini', 'kurtosis', 'cv', 'l2', 'loss', 'threshold'])
      expect(prism.field(f).type.typeName).toBe('double');
    expect(prism.field('source_offset').type.typeName).toBe('string');
  });
});
