import { commandLine } from '../alfworld/actions.ts';
import type { Product, ShopTask } from './catalog.ts';

/**
 * The rules of one family's shop. Base `webshop` knows search[...] and click[...] only; the
 * `webshop-cart` conflict family adds add_to_cart[ASIN, option, ...] and checkout (families.ts).
 */
export interface ShopRules {
  cart: boolean;
}

export const BASE_SHOP_RULES: ShopRules = { cart: false };

const INVALID = 'Invalid action.';

/**
 * A tiny WebShop state machine. The reward follows WebShop's shape: the share of matched
 * requirements (attribute, each wanted option, price) of the item bought; 0 if nothing was bought.
 */
export class ShopSim {
  private page: 'search' | 'results' | 'item' = 'search';
  private item: Product | null = null;
  private chosen: Record<string, string> = {};
  private bought: { product: Product; chosen: Record<string, string> } | null = null;

  constructor(
    private readonly task: ShopTask,
    private readonly rules: ShopRules = BASE_SHOP_RULES,
  ) {}

  get success(): boolean {
    return this.reward() === 1;
  }

  stepText(content: string): string {
    if (this.bought) return INVALID;
    const line = commandLine(content);
    if (/^search\[.+\]$/.test(line)) return this.search();
    const click = line.match(/^click\[(.+)\]$/);
    if (click) return this.click(click[1]);
    const add = this.rules.cart ? line.match(/^add_to_cart\[(.+)\]$/) : null;
    if (add) return this.addToCart(add[1]);
    if (this.rules.cart && line === 'checkout') return this.checkout();
    return INVALID;
  }

  reward(): number {
    if (!this.bought) return 0;
    const { product, chosen } = this.bought;
    const wanted = Object.entries(this.task.want);
    const hits =
      Number(product.attrs.includes(this.task.attr)) +
      Number(product.price < this.task.maxPrice) +
      wanted.filter(([k, v]) => chosen[k] === v).length;
    return Math.round((hits / (wanted.length + 2)) * 100) / 100;
  }

  private search(): string {
    if (this.page !== 'search') return INVALID;
    this.page = 'results';
    return this.resultsPage();
  }

  private resultsPage(): string {
    const rows = this.task.results.map((p) => `[${p.asin}] ${p.title} $${p.price.toFixed(2)}`);
    return `[Back to Search] Page 1 (Total results: ${rows.length}) ${rows.join(' ')}`;
  }

  private itemPage(p: Product): string {
    const opts = Object.entries(p.options)
      .map(([k, vs]) => `${k}: ${vs.map((v) => `[${v}]`).join(' ')}`)
      .join(' ');
    return `[< Prev] ${p.title} Price: $${p.price.toFixed(2)} ${opts} [Buy Now]`;
  }

  private click(target: string): string {
    if (target === 'Back to Search' && this.page !== 'search') {
      this.page = 'search';
      this.item = null;
      return '[Search]';
    }
    if (this.page === 'results') {
      const p = this.task.results.find((r) => r.asin === target);
      if (!p) return INVALID;
      this.page = 'item';
      this.item = p;
      this.chosen = {};
      return this.itemPage(p);
    }
    if (this.page === 'item' && this.item) {
      if (target === '< Prev') {
        this.page = 'results';
        this.item = null;
        return this.resultsPage();
      }
      if (target === 'Buy Now') {
        this.bought = { product: this.item, chosen: { ...this.chosen } };
        return 'Thank you for shopping with us!';
      }
      for (const [kind, values] of Object.entries(this.item.options)) {
        if (values.includes(target)) {
          this.chosen[kind] = target;
          return `You have clicked ${target}.`;
        }
      }
    }
    return INVALID;
  }

  /** Conflict tool: add_to_cart[ASIN, value, value] buys straight from the results page. */
  private addToCart(arg: string): string {
    if (this.page !== 'results') return INVALID;
    const [asin, ...values] = arg.split(',').map((s) => s.trim());
    const p = this.task.results.find((r) => r.asin === asin);
    if (!p) return INVALID;
    const chosen: Record<string, string> = {};
    for (const v of values) {
      const kind = Object.entries(p.options).find(([, vs]) => vs.includes(v))?.[0];
      if (!kind) return INVALID;
      chosen[kind] = v;
    }
    this.item = p;
    this.chosen = chosen;
    return `Added to cart: ${p.title} (${values.join(', ')}).`;
  }

  private checkout(): string {
    if (!this.item) return INVALID;
    this.bought = { product: this.item, chosen: { ...this.chosen } };
    return 'Order placed. Thank you for shopping with us!';
  }
}
