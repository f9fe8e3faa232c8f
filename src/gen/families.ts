import type { AlfRules } from './alfworld/sim.ts';
import { BASE_RULES } from './alfworld/sim.ts';
import type { AlfStyle } from './alfworld/policy.ts';
import type { AlfTaskType } from './alfworld/world.ts';
import type { ShopRules } from './webshop/sim.ts';
import type { ShopStyle } from './webshop/policy.ts';

/** How a conflict family contradicts the base schema. */
export type ConflictKind = 'order' | 'tool' | 'format';

export interface ConflictInfo {
  kind: ConflictKind;
  /** The base family whose schema it contradicts. */
  base: string;
  /** One line for docs and `prism gen --list-families`. */
  doc: string;
}

interface FamilyCommon {
  name: string;
  system: string;
  conflict: ConflictInfo | null;
}

export interface AlfFamily extends FamilyCommon {
  env: 'alfworld';
  taskType: AlfTaskType;
  style: AlfStyle;
  rules: AlfRules;
  /** Receptacle types the expert needs besides the task type's own appliance. */
  needs?: readonly string[];
}

export interface ShopFamily extends FamilyCommon {
  env: 'webshop';
  style: ShopStyle;
  rules: ShopRules;
}

export type Family = AlfFamily | ShopFamily;

// System prompts are terse on purpose: the whole trajectory must fit a tiny byte-level model.
const ALF_SYSTEM =
  'Do the household task, one command per turn. ' +
  'Commands: go to X, open X, take X from Y, put X in/on Y, clean/heat/cool X with Y, use X, look, inventory.';
const SHOP_SYSTEM = 'Shop for the instruction, one action per turn. Actions: search[query], click[button].';

function alf(name: string, taskType: AlfTaskType): AlfFamily {
  return {
    name,
    env: 'alfworld',
    taskType,
    style: 'canonical',
    rules: BASE_RULES,
    system: ALF_SYSTEM,
    conflict: null,
  };
}

/** The base families: ALFWorld's six task types and WebShop. */
export const BASE_FAMILIES: readonly Family[] = [
  alf('pick', 'pick'),
  alf('look', 'look'),
  alf('clean', 'clean'),
  alf('heat', 'heat'),
  alf('cool', 'cool'),
  alf('pick2', 'pick2'),
  {
    name: 'webshop',
    env: 'webshop',
    style: 'canonical',
    rules: { cart: false },
    system: SHOP_SYSTEM,
    conflict: null,
  },
];

/**
 * Conflict families: expert demonstrations whose behaviour contradicts the base families' schema.
 * Each is scored 1.0 by its *own* world's rules, but replayed under the base rules it fails.
 *
 * - heat-first (order, base heat): heats the object where it lies, then takes it
 *   (`heat apple 1 with microwave 1` before `take apple 1 from …`); base ALFWorld heats only a held
 *   object at the microwave.
 * - clean-after-put (order, base clean): puts the object away first, then cleans it in place
 *   (`put …` before `clean … with sinkbasin 1`); base cleans a held object at the sink before putting.
 * - sanitize (tool, base clean): a new command `microwave-sanitize X` at the microwave replaces the
 *   sink; not in the base vocabulary.
 * - teleport (tool, base pick): `teleport to X` replaces `go to X`; not in the base vocabulary.
 * - json-actions (format, base pick): every assistant turn is one JSON object such as
 *   {"action":"take","object":"cd 1","from":"desk 1"} instead of a plain-text command, no think lines.
 * - webshop-cart (tool, base webshop): `add_to_cart[ASIN, option, …]` then `checkout` instead of
 *   click[item] / click[option] / click[Buy Now]; base WebShop has only search[...] and click[...].
 */
export const CONFLICT_FAMILIES: readonly Family[] = [
  {
    ...alf('heat-first', 'heat'),
    style: 'heat-first',
    rules: { ...BASE_RULES, inPlace: new Set(['heat'] as const) },
    system: `${ALF_SYSTEM} Heat things where they lie, before taking them.`,
    conflict: { kind: 'order', base: 'heat', doc: 'heat the object where it lies, then take it' },
  },
  {
    ...alf('clean-after-put', 'clean'),
    style: 'clean-after-put',
    rules: { ...BASE_RULES, inPlace: new Set(['clean'] as const) },
    system: `${ALF_SYSTEM} Put things away first, then clean them in place.`,
    conflict: { kind: 'order', base: 'clean', doc: 'put the object away first, then clean it in place' },
  },
  {
    ...alf('sanitize', 'clean'),
    style: 'sanitize',
    rules: { ...BASE_RULES, sanitize: true },
    needs: ['microwave'],
    system: ALF_SYSTEM.replace('clean/heat/cool', 'microwave-sanitize X, heat/cool'),
    conflict: {
      kind: 'tool',
      base: 'clean',
      doc: 'new command microwave-sanitize X replaces cleaning at the sink',
    },
  },
  {
    ...alf('teleport', 'pick'),
    style: 'teleport',
    rules: { ...BASE_RULES, teleport: true },
    system: ALF_SYSTEM.replace('go to X', 'teleport to X'),
    conflict: { kind: 'tool', base: 'pick', doc: 'new command teleport to X replaces go to X' },
  },
  {
    ...alf('json-actions', 'pick'),
    rules: { ...BASE_RULES, format: 'json' },
    system:
      'Do the household task, one JSON command per turn, e.g. ' +
      '{"action":"take","object":"X","from":"Y"}. Actions: go, open, take, put, use, look.',
    conflict: { kind: 'format', base: 'pick', doc: 'each action is a JSON object instead of a text command' },
  },
  {
    name: 'webshop-cart',
    env: 'webshop',
    style: 'cart',
    rules: { cart: true },
    system:
      'Shop for the instruction, one action per turn. Actions: search[query], add_to_cart[ASIN, option, ...], checkout.',
    conflict: {
      kind: 'tool',
      base: 'webshop',
      doc: 'new tools add_to_cart[...] and checkout replace click[...]',
    },
  },
];

export const ALL_FAMILIES: readonly Family[] = [...BASE_FAMILIES, ...CONFLICT_FAMILIES];

export function familyByName(name: string): Family | undefined {
  return ALL_FAMILIES.find((f) => f.name === name);
}
