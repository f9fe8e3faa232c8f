import type { Rng } from '../rng.ts';
import type { Step } from '../episode.ts';
import type { ShopTask } from './catalog.ts';

/** `canonical`: search -> click item -> click each option -> click[Buy Now]. `cart`: the conflict tools. */
export type ShopStyle = 'canonical' | 'cart';

function query(task: ShopTask): string {
  return `search[${task.attr} ${task.noun}]`;
}

function buyClicks(asin: string, chosen: Record<string, string>): Step[] {
  return [
    { say: `click[${asin}]` },
    ...Object.values(chosen).map((v) => ({ say: `click[${v}]` })),
    { say: 'click[Buy Now]' },
  ];
}

export function expertSteps(task: ShopTask, style: ShopStyle): Step[] {
  const search: Step = { say: query(task), think: `think: search for ${task.attr} ${task.noun} first.` };
  if (style === 'cart') {
    return [
      search,
      { say: `add_to_cart[${[task.target, ...Object.values(task.want)].join(', ')}]` },
      { say: 'checkout' },
    ];
  }
  const [click, ...rest] = buyClicks(task.target, task.want);
  return [search, { ...click, think: `think: ${task.target} fits and is under the budget.` }, ...rest];
}

/** Buys something slightly wrong: the over-budget or off-attribute item, or the target with a wrong option. */
export function partialSteps(task: ShopTask, style: ShopStyle, rng: Rng): Step[] {
  const others = task.results.filter((p) => p.asin !== task.target);
  const wrongItem = rng.chance(0.5);
  const asin = wrongItem ? rng.pick(others).asin : task.target;
  const chosen = { ...task.want };
  if (!wrongItem) {
    const [kind, value] = rng.pick(Object.entries(task.want));
    const options = task.results[0].options[kind].filter((v) => v !== value);
    chosen[kind] = rng.pick(options);
  }
  if (style === 'cart') {
    return [
      { say: query(task) },
      { say: `add_to_cart[${[asin, ...Object.values(chosen)].join(', ')}]` },
      { say: 'checkout' },
    ];
  }
  return [{ say: query(task) }, ...buyClicks(asin, chosen)];
}

/** Browses without buying: looks at items and goes back. */
export function failureSteps(task: ShopTask, rng: Rng): Step[] {
  const steps: Step[] = [{ say: query(task) }];
  const n = rng.int(1, 2);
  for (let i = 0; i < n; i++) {
    steps.push({ say: `click[${rng.pick(task.results).asin}]` }, { say: 'click[< Prev]' });
  }
  return steps;
}
