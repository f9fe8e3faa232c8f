import { describe, expect, it } from 'vitest';
import { generate } from '../../src/gen/generate.ts';
import { BASE_FAMILIES, CONFLICT_FAMILIES } from '../../src/gen/families.ts';
import { episodeBytes } from '../../src/gen/episode.ts';
import { readerTypes } from '../../src/schemas/bundled.ts';
import { DEFAULT_LIMITS } from '../../src/config/input.ts';
import { validateTrajectory } from '../../src/schemas/validate.ts';
import type { Trajectory } from '../../src/schemas/types.ts';

const recs: Trajectory[] = [...generate({ n: 2000, seed: 5, conflictShare: 0.3 })];
const trajectoryType = readerTypes().trajectory;

describe('prism gen records', () => {
  it('are valid Trajectory records (Avro schema and validateTrajectory)', () => {
    for (const t of recs) {
      expect(trajectoryType.isValid(t), t.id).toBe(true);
      expect(() => validateTrajectory(t, DEFAULT_LIMITS)).not.toThrow();
      expect(Object.keys(t)).toEqual([
        'id',
        'task_id',
        'env',
        'turns',
        'reward',
        'metadata',
        'created_at',
        'behavior_model_version',
      ]);
    }
  });

  it('have system, user, then alternating assistant/observation text turns without token ids', () => {
    for (const t of recs) {
      const roles = t.turns.map((x) => x.role);
      const steps = (roles.length - 2) / 2;
      expect(steps).toBeGreaterThanOrEqual(1);
      const want = [
        'system',
        'user',
        ...Array.from({ length: steps }, () => ['assistant', 'observation']).flat(),
      ];
      expect(roles).toEqual(want);
      expect(t.turns.every((x) => x.token_ids === null && x.logprobs === null && x.content.length > 0)).toBe(
        true,
      );
    }
  });

  it('record family and conflict flag in metadata, and the env', () => {
    const base = new Set(BASE_FAMILIES.map((f) => f.name));
    const conflict = new Set(CONFLICT_FAMILIES.map((f) => f.name));
    for (const t of recs) {
      const fam = t.metadata.family;
      expect(base.has(fam) || conflict.has(fam)).toBe(true);
      expect(t.metadata.conflict).toBe(conflict.has(fam) ? 'true' : 'false');
      expect(t.env).toBe(fam.startsWith('webshop') ? 'webshop' : 'alfworld');
      if (conflict.has(fam)) expect(['order', 'tool', 'format']).toContain(t.metadata.conflict_kind);
    }
  });

  it('draw roughly the asked conflict share, per task', () => {
    const share = (rs: Trajectory[]) => rs.filter((t) => t.metadata.conflict === 'true').length / rs.length;
    expect(share(recs)).toBeGreaterThan(0.25);
    expect(share(recs)).toBeLessThan(0.35);
    expect(share([...generate({ n: 400, seed: 5 })])).toBe(0);
    expect(share([...generate({ n: 400, seed: 5, conflictShare: 1 })])).toBe(1);
  });

  it('group rollouts of one task under one task_id with the same prompt and mixed outcomes', () => {
    const groups = new Map<string, Trajectory[]>();
    for (const t of recs) groups.set(t.task_id, [...(groups.get(t.task_id) ?? []), t]);
    expect(groups.size).toBe(500);
    let mixed = 0;
    for (const g of groups.values()) {
      expect(g).toHaveLength(4);
      expect(new Set(g.map((t) => t.turns[1].content)).size).toBe(1);
      expect(new Set(g.map((t) => t.metadata.family)).size).toBe(1);
      if (new Set(g.map((t) => t.reward)).size > 1) mixed++;
    }
    expect(mixed / groups.size).toBeGreaterThan(0.5);
  });

  it('score success 1, partial in (0,1) and failure 0, with failures present', () => {
    const counts = { success: 0, partial: 0, failure: 0 };
    for (const t of recs) {
      const r = t.reward as number;
      const o = t.metadata.outcome as keyof typeof counts;
      counts[o]++;
      if (o === 'success') expect(r).toBe(1);
      else if (o === 'failure') expect(r).toBe(0);
      else expect(r > 0 && r < 1).toBe(true);
    }
    for (const k of Object.keys(counts) as (keyof typeof counts)[])
      expect(counts[k]).toBeGreaterThan(recs.length * 0.1);
  });

  it('stay within --max-chars (cut episodes are marked truncated)', () => {
    for (const max of [512, 1024]) {
      for (const t of generate({ n: 300, seed: 8, conflictShare: 0.5, maxChars: max })) {
        const assistants = t.turns.filter((x) => x.role === 'assistant').length;
        if (assistants > 1) expect(episodeBytes(t.turns)).toBeLessThanOrEqual(max);
      }
    }
    const cut = [...generate({ n: 200, seed: 8, maxChars: 384 })].filter(
      (t) => t.metadata.truncated === 'true',
    );
    expect(cut.length).toBeGreaterThan(0);
  });

  it('let every family, base and conflict, reach success within the default budget', () => {
    for (const f of [...BASE_FAMILIES, ...CONFLICT_FAMILIES]) {
      const rs = [...generate({ n: 80, seed: 3, families: [f.name] })];
      expect(rs.every((t) => t.metadata.family === f.name)).toBe(true);
      expect(
        rs.some((t) => t.reward === 1),
        f.name,
      ).toBe(true);
    }
  });
});
