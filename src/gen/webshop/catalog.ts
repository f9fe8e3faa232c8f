import type { Rng } from '../rng.ts';

/** One product on the results page. */
export interface Product {
  asin: string;
  title: string;
  price: number;
  attrs: string[];
  /** option kind ("size") -> values offered. */
  options: Record<string, string[]>;
}

/** A WebShop-like shopping task: an instruction with an attribute, options and a price cap. */
export interface ShopTask {
  noun: string;
  attr: string;
  /** option kind -> wanted value. */
  want: Record<string, string>;
  maxPrice: number;
  /** What a search returns, in page order; `target` is the one that satisfies everything. */
  results: Product[];
  target: string;
}

interface Category {
  noun: string;
  attrs: string[];
  options: Record<string, string[]>;
  price: [number, number];
}

const CATEGORIES: Category[] = [
  {
    noun: 't-shirt',
    attrs: ['cotton', 'slim fit', 'short sleeve'],
    options: { size: ['s', 'm', 'l', 'xl'], color: ['red', 'blue', 'black'] },
    price: [12, 40],
  },
  {
    noun: 'running shoes',
    attrs: ['lightweight', 'non slip', 'breathable'],
    options: { size: ['7', '8', '9', '10'], color: ['black', 'grey', 'white'] },
    price: [35, 90],
  },
  {
    noun: 'shampoo',
    attrs: ['sulfate free', 'organic', 'for dry hair'],
    options: { size: ['8 oz', '16 oz'], scent: ['mint', 'lavender', 'coconut'] },
    price: [6, 25],
  },
  {
    noun: 'headphones',
    attrs: ['wireless', 'noise cancelling', 'over ear'],
    options: { color: ['black', 'white', 'blue'] },
    price: [20, 120],
  },
  {
    noun: 'coffee',
    attrs: ['dark roast', 'whole bean', 'decaf'],
    options: { size: ['12 oz', '2 lb'], flavor: ['vanilla', 'hazelnut', 'plain'] },
    price: [8, 30],
  },
];

const BRANDS = ['Lumo', 'Zenko', 'Arbor', 'Kite', 'Novo', 'Pike', 'Vela', 'Orra'];
const ASIN_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';

function asin(rng: Rng): string {
  let s = 'B0';
  for (let i = 0; i < 6; i++) s += ASIN_CHARS[rng.int(0, ASIN_CHARS.length - 1)];
  return s;
}

function price(rng: Rng, lo: number, hi: number): number {
  return rng.int(Math.round(lo * 100), Math.round(hi * 100)) / 100;
}

/**
 * Build a task and its results page: the target (right attribute, in budget), one item over
 * budget with the right attribute, and one in budget with a different attribute.
 */
export function buildShopTask(rng: Rng): ShopTask {
  const cat = rng.pick(CATEGORIES);
  const [attr, otherAttr] = rng.sample(cat.attrs, 2);
  const want: Record<string, string> = {};
  for (const [kind, values] of Object.entries(cat.options)) want[kind] = rng.pick(values);
  const maxPrice = Math.ceil((cat.price[0] + (cat.price[1] - cat.price[0]) * 0.6) / 10) * 10;
  const [b1, b2, b3] = rng.sample(BRANDS, 3);
  const make = (brand: string, a: string, p: number): Product => ({
    asin: asin(rng),
    title: `${brand} ${a} ${cat.noun}`,
    price: p,
    attrs: [a],
    options: cat.options,
  });
  const target = make(b1, attr, price(rng, cat.price[0], maxPrice - 1));
  const pricey = make(b2, attr, price(rng, maxPrice + 1, cat.price[1] + 10));
  const offAttr = make(b3, otherAttr, price(rng, cat.price[0], maxPrice - 1));
  return {
    noun: cat.noun,
    attr,
    want,
    maxPrice,
    results: rng.shuffle([target, pricey, offAttr]),
    target: target.asin,
  };
}

export function instruction(task: ShopTask): string {
  const opts = Object.entries(task.want)
    .map(([k, v]) => `${k} ${v}`)
    .join(' and ');
  return `i need ${task.attr} ${task.noun} with ${opts}, price lower than ${task.maxPrice.toFixed(2)} dollars`;
}
