import { describe, expect, it } from 'vitest';
import { BASE_VERBS, formatText, parseAction } from '../../src/gen/alfworld/actions.ts';
import { expertActions } from '../../src/gen/alfworld/policy.ts';
import { AlfSim, BASE_RULES } from '../../src/gen/alfworld/sim.ts';
import { buildTask } from '../../src/gen/alfworld/world.ts';
import {
  BASE_FAMILIES,
  CONFLICT_FAMILIES,
  familyByName,
  type AlfFamily,
  type ShopFamily,
} from '../../src/gen/families.ts';
import { generate } from '../../src/gen/generate.ts';
import { Rng } from '../../src/gen/rng.ts';
import { buildShopTask } from '../../src/gen/webshop/catalog.ts';
import { expertSteps } from '../../src/gen/webshop/policy.ts';
import { BASE_SHOP_RULES, ShopSim } from '../../src/gen/webshop/sim.ts';
import type { Trajectory } from '../../src/schemas/types.ts';

const SEEDS = Array.from({ length: 40 }, (_, i) => i);

/** Expert reward of a family's expert, played under its own rules and under the base rules. */
function expertRewards(f: AlfFamily | ShopFamily, seed: number): { own: number; base: number } {
  if (f.env === 'webshop') {
    const task = buildShopTask(new Rng(seed));
    const play = (sim: ShopSim) => {
      for (const s of expertSteps(task, f.style)) sim.stepText(s.say);
      return sim.reward();
    };
    return { own: play(new ShopSim(task, f.rules)), base: play(new ShopSim(task, BASE_SHOP_RULES)) };
  }
  const task = buildTask(f.taskType, new Rng(seed), 4, f.needs);
  const actions = expertActions(task, f.style);
  const play = (sim: AlfSim, format: 'text' | 'json') => {
    for (const a of actions)
      sim.stepText(format === 'json' ? JSON.stringify(toJsonAction(a)) : formatText(a));
    return sim.reward();
  };
  return {
    own: play(new AlfSim(task, f.rules), f.rules.format),
    base: play(new AlfSim(task, BASE_RULES), f.rules.format),
  };
}

function toJsonAction(a: ReturnType<typeof expertActions>[number]): Record<string, string> {
  switch (a.verb) {
    case 'take':
      return { action: 'take', object: a.obj, from: a.from };
    case 'put':
      return { action: 'put', object: a.obj, to: a.to };
    case 'look':
    case 'inventory':
      return { action: a.verb };
    case 'clean':
    case 'heat':
    case 'cool':
      return { action: a.verb, object: a.obj, with: a.tool };
    case 'sanitize':
      return { action: 'sanitize', object: a.obj };
    default:
      return { action: a.verb, target: a.target };
  }
}

function successes(family: string): Trajectory[] {
  const rs = [...generate({ n: 120, seed: 17, families: [family] })].filter((t) => t.reward === 1);
  expect(rs.length, `${family} has successful rollouts`).toBeGreaterThan(10);
  return rs;
}

const said = (t: Trajectory) =>
  t.turns.filter((x) => x.role === 'assistant').map((x) => x.content.split('\n').pop() as string);

describe('prism gen conflict families', () => {
  it('base experts succeed under the base rules', () => {
    for (const f of BASE_FAMILIES)
      for (const s of SEEDS) expect(expertRewards(f, s).base, `${f.name} seed ${s}`).toBe(1);
  });

  it('conflict experts succeed under their own rules but fail under the base rules', () => {
    for (const f of CONFLICT_FAMILIES) {
      for (const s of SEEDS) {
        const { own, base } = expertRewards(f, s);
        expect(own, `${f.name} seed ${s}`).toBe(1);
        expect(base, `${f.name} seed ${s}`).toBeLessThan(1);
      }
    }
  });

  it('heat-first heats before taking; base heat takes before heating', () => {
    const order = (t: Trajectory) => {
      const s = said(t);
      return {
        heat: s.findIndex((x) => x.startsWith('heat ')),
        take: s.findIndex((x) => x.startsWith('take ')),
      };
    };
    for (const t of successes('heat-first')) expect(order(t).heat).toBeLessThan(order(t).take);
    for (const t of successes('heat')) expect(order(t).take).toBeLessThan(order(t).heat);
  });

  it('clean-after-put puts before cleaning; base clean cleans before putting', () => {
    const order = (t: Trajectory) => {
      const s = said(t);
      return {
        clean: s.findIndex((x) => x.startsWith('clean ')),
        put: s.findIndex((x) => x.startsWith('put ')),
      };
    };
    for (const t of successes('clean-after-put')) expect(order(t).put).toBeLessThan(order(t).clean);
    for (const t of successes('clean')) expect(order(t).clean).toBeLessThan(order(t).put);
  });

  it('sanitize and teleport use commands outside the base vocabulary', () => {
    const sanitize = successes('sanitize');
    for (const t of sanitize) {
      expect(said(t).some((x) => x.startsWith('microwave-sanitize '))).toBe(true);
      expect(said(t).some((x) => x.includes('with sinkbasin'))).toBe(false);
    }
    const teleport = successes('teleport');
    for (const t of teleport) {
      expect(said(t).some((x) => x.startsWith('teleport to '))).toBe(true);
      expect(said(t).some((x) => x.startsWith('go to '))).toBe(false);
    }
    for (const verb of ['teleport', 'sanitize']) expect(BASE_VERBS.has(verb)).toBe(false);
  });

  it('base ALFWorld families only use base-vocabulary text commands', () => {
    for (const f of BASE_FAMILIES.filter((x) => x.env === 'alfworld')) {
      for (const t of generate({ n: 40, seed: 4, families: [f.name] })) {
        for (const line of said(t)) {
          const a = parseAction(line, 'text');
          expect(a, line).not.toBeNull();
          expect(BASE_VERBS.has(a?.verb ?? ''), line).toBe(true);
        }
      }
    }
  });

  it('json-actions writes every action as a JSON object, which the base text parser rejects', () => {
    const rs = successes('json-actions');
    for (const t of rs) {
      for (const line of said(t)) {
        expect(() => JSON.parse(line)).not.toThrow();
        expect(parseAction(line, 'text')).toBeNull();
      }
    }
  });

  it('webshop-cart buys with add_to_cart/checkout instead of click[...]', () => {
    for (const t of successes('webshop-cart')) {
      expect(said(t).some((x) => x.startsWith('add_to_cart['))).toBe(true);
      expect(said(t)).toContain('checkout');
      expect(said(t).some((x) => x.startsWith('click['))).toBe(false);
    }
    for (const t of successes('webshop')) expect(said(t)).toContain('click[Buy Now]');
  });

  it('every conflict family names the base family it contradicts', () => {
    for (const f of CONFLICT_FAMILIES) {
      expect(f.conflict).not.toBeNull();
      expect(familyByName(f.conflict?.base ?? '')?.conflict).toBeNull();
    }
  });
});
