import type { Rng } from '../rng.ts';

/** The six ALFWorld task types (Shridhar et al., 2021), named as prism-gen families. */
export type AlfTaskType = 'pick' | 'look' | 'clean' | 'heat' | 'cool' | 'pick2';

/** One household room: receptacles in the order the room description lists them, and what lies where. */
export interface World {
  receptacles: string[];
  /** Receptacles that start closed (fridge, cabinet, drawer, microwave, safe). */
  closed: Set<string>;
  /** receptacle -> objects on/in it, in listing order. */
  contents: Map<string, string[]>;
}

/** What the task asks for; `dest` is a receptacle *type* ("fridge"), as in ALFWorld's goal text. */
export interface AlfTask {
  type: AlfTaskType;
  /** Object type the goal is about ("apple"). */
  object: string;
  /** Receptacle type for pick/clean/heat/cool/pick2; "desklamp" for look. */
  dest: string;
  world: World;
}

const OPENABLE = new Set(['fridge', 'cabinet', 'drawer', 'microwave', 'safe']);
const CONTAINERS = new Set(['fridge', 'cabinet', 'drawer', 'microwave', 'safe', 'garbagecan']);

const KITCHEN = ['countertop', 'cabinet', 'diningtable', 'drawer', 'stoveburner', 'garbagecan', 'shelf'];
const BEDROOM = ['desk', 'drawer', 'dresser', 'shelf', 'sidetable', 'bed', 'safe', 'garbagecan', 'armchair'];

/** Objects each task type draws from, and the receptacle types they may be placed on. */
const TASK_VOCAB: Record<AlfTaskType, { objects: string[]; dests: string[]; room: string[] }> = {
  pick: {
    objects: ['book', 'cellphone', 'keychain', 'pen', 'mug', 'candle', 'cd', 'creditcard', 'spraybottle'],
    dests: ['shelf', 'drawer', 'desk', 'sidetable', 'dresser', 'safe', 'garbagecan'],
    room: BEDROOM,
  },
  look: {
    objects: ['book', 'cd', 'keychain', 'pen', 'pillow', 'cellphone', 'alarmclock', 'bowl'],
    dests: ['desklamp'],
    room: BEDROOM,
  },
  clean: {
    objects: ['apple', 'lettuce', 'tomato', 'mug', 'plate', 'fork', 'knife', 'spoon', 'pan', 'egg'],
    dests: ['fridge', 'countertop', 'diningtable', 'cabinet', 'shelf', 'drawer'],
    room: KITCHEN,
  },
  heat: {
    objects: ['apple', 'potato', 'egg', 'mug', 'bread', 'tomato', 'cup', 'plate'],
    dests: ['countertop', 'diningtable', 'fridge', 'garbagecan', 'cabinet'],
    room: KITCHEN,
  },
  cool: {
    objects: ['apple', 'potato', 'tomato', 'lettuce', 'bread', 'mug', 'pan', 'pot', 'cup'],
    dests: ['countertop', 'diningtable', 'cabinet', 'microwave', 'shelf'],
    room: KITCHEN,
  },
  pick2: {
    objects: ['book', 'cd', 'pillow', 'keychain', 'pen', 'spraybottle', 'soapbar', 'candle', 'creditcard'],
    dests: ['shelf', 'drawer', 'desk', 'sidetable', 'dresser', 'safe', 'garbagecan', 'armchair'],
    room: BEDROOM,
  },
};

/** Distractor objects scattered around (never the goal object). */
const CLUTTER = [
  'knife',
  'spatula',
  'saltshaker',
  'peppershaker',
  'vase',
  'box',
  'watch',
  'pencil',
  'tissuebox',
];

/** The appliance each transform task needs. */
export const TOOL_OF: Partial<Record<AlfTaskType, string>> = {
  clean: 'sinkbasin 1',
  heat: 'microwave 1',
  cool: 'fridge 1',
};

export function typeOf(name: string): string {
  return name.replace(/ \d+$/, '');
}

export function isOpenable(receptacle: string): boolean {
  return OPENABLE.has(typeOf(receptacle));
}

/** ALFWorld's command uses the literal "in/on"; the goal text picks the right preposition. */
export function preposition(receptacleType: string): 'in' | 'on' {
  return CONTAINERS.has(receptacleType) ? 'in' : 'on';
}

/**
 * Build a task of `type` in a room of about `size` receptacles. The goal object lies on a
 * receptacle that is not the destination; pick2 places two instances on two receptacles.
 * `needs` adds receptacle types a family's expert uses beyond the task type's own appliance.
 */
export function buildTask(type: AlfTaskType, rng: Rng, size: number, needs: readonly string[] = []): AlfTask {
  const vocab = TASK_VOCAB[type];
  const object = rng.pick(vocab.objects);
  const dest = rng.pick(vocab.dests);

  const required: string[] = [];
  const tool = TOOL_OF[type];
  if (tool) required.push(typeOf(tool));
  for (const n of needs) if (!required.includes(n)) required.push(n);
  if (type === 'look') required.push('sidetable');
  else required.push(dest);
  const pool = vocab.room.filter((r) => !required.includes(r));
  // At least one receptacle the goal object can start on (not the destination, lamp table or bin).
  const first = rng.pick(pool.filter((t) => t !== 'garbagecan' && t !== 'sidetable'));
  const rest = rng.sample(
    pool.filter((t) => t !== first),
    Math.max(1, size - required.length - 1),
  );
  const types = [...required, first, ...rest];

  // Number instances ALFWorld-style; a second cabinet/drawer sometimes appears.
  const receptacles = rng.shuffle(types.map((t) => `${t} 1`));
  const extra = receptacles.find((r) => ['cabinet 1', 'drawer 1', 'shelf 1'].includes(r));
  if (extra && rng.chance(0.25)) receptacles.push(`${typeOf(extra)} 2`);

  const contents = new Map<string, string[]>(receptacles.map((r) => [r, []]));
  const sources = receptacles.filter(
    (r) => !required.includes(typeOf(r)) && typeOf(r) !== 'garbagecan' && typeOf(r) !== 'sidetable',
  );
  const place = (obj: string, at: string) => contents.get(at)?.push(obj);

  const src = rng.pick(sources);
  place(`${object} 1`, src);
  if (type === 'pick2') {
    const src2 = rng.pick(sources);
    place(`${object} 2`, src2);
  }
  if (type === 'look') place('desklamp 1', receptacles.find((r) => typeOf(r) === 'sidetable') ?? src);
  for (const c of rng.sample(
    CLUTTER.filter((c) => c !== object),
    rng.int(0, 2),
  ))
    place(`${c} 1`, rng.pick(receptacles));
  for (const items of contents.values()) items.sort();

  const closed = new Set(receptacles.filter((r) => isOpenable(r) && rng.chance(0.5)));
  return { type, object, dest, world: { receptacles, closed, contents } };
}

/** The task sentence, as ALFWorld writes it. */
export function goalText(task: AlfTask): string {
  const p = preposition(task.dest);
  switch (task.type) {
    case 'pick':
      return `put a ${task.object} ${p} ${task.dest}.`;
    case 'look':
      return `look at ${task.object} under the desklamp.`;
    case 'clean':
      return `put a clean ${task.object} ${p} ${task.dest}.`;
    case 'heat':
      return `put a hot ${task.object} ${p} ${task.dest}.`;
    case 'cool':
      return `put a cool ${task.object} ${p} ${task.dest}.`;
    case 'pick2':
      return `find two ${task.object} and put them ${p} ${task.dest}.`;
  }
}

/** "a apple 1, a knife 1, and a mug 1" (ALFWorld writes "a" before every noun). */
export function listObjects(items: readonly string[]): string {
  const parts = items.map((i) => `a ${i}`);
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')}, and ${parts[parts.length - 1]}`;
}

export function roomDescription(world: World): string {
  return `You are in the middle of a room. Looking quickly around you, you see ${listObjects(world.receptacles)}.`;
}
