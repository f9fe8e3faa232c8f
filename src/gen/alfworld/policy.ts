import type { Rng } from '../rng.ts';
import type { Step } from '../episode.ts';
import { formatAction, type ActionFormat, type AlfAction } from './actions.ts';
import { TOOL_OF, typeOf, type AlfTask } from './world.ts';

/**
 * How an expert orders its actions. `canonical` is ALFWorld's order for each task type
 * (find -> take -> [transform at appliance] -> go to destination -> put); the others are the
 * conflict families' orders and tools (documented in src/gen/families.ts).
 */
export type AlfStyle = 'canonical' | 'heat-first' | 'clean-after-put' | 'sanitize' | 'teleport';

/** Where the task's goal objects start (object -> receptacle), pick2's two instances in order. */
function sources(task: AlfTask): [string, string][] {
  const out: [string, string][] = [];
  for (const [rec, items] of task.world.contents) {
    for (const o of items) if (typeOf(o) === task.object) out.push([o, rec]);
  }
  return out.sort(([a], [b]) => a.localeCompare(b));
}

function destination(task: AlfTask): string {
  const rec = task.world.receptacles.find((r) => typeOf(r) === task.dest);
  if (!rec) throw new Error(`world has no ${task.dest}`);
  return rec;
}

function lampTable(task: AlfTask): string {
  for (const [rec, items] of task.world.contents) if (items.includes('desklamp 1')) return rec;
  throw new Error('world has no desklamp');
}

/** The actions an expert takes, in its style's order. */
export function expertActions(task: AlfTask, style: AlfStyle): AlfAction[] {
  const move = style === 'teleport' ? 'teleport' : 'go';
  const goTo = (target: string): AlfAction[] => {
    const steps: AlfAction[] = [{ verb: move, target }];
    if (task.world.closed.has(target)) steps.push({ verb: 'open', target });
    return steps;
  };
  const take = (obj: string, from: string): AlfAction[] => [...goTo(from), { verb: 'take', obj, from }];
  const put = (obj: string, to: string): AlfAction[] => [...goTo(to), { verb: 'put', obj, to }];
  const dest = task.type === 'look' ? '' : destination(task);
  const [[obj, src], second] = sources(task);

  switch (task.type) {
    case 'pick':
      return [...take(obj, src), ...put(obj, dest)];
    case 'pick2':
      return [...take(obj, src), ...put(obj, dest), ...take(second[0], second[1]), ...put(second[0], dest)];
    case 'look':
      return [
        ...take(obj, src),
        { verb: move, target: lampTable(task) },
        { verb: 'use', target: 'desklamp 1' },
      ];
    case 'clean':
    case 'heat':
    case 'cool': {
      const tool = TOOL_OF[task.type] as string;
      const verb = task.type;
      if (style === 'heat-first') {
        // Conflict: heat the object where it lies, *then* take it.
        return [...goTo(src), { verb, obj, tool }, { verb: 'take', obj, from: src }, ...put(obj, dest)];
      }
      if (style === 'clean-after-put') {
        // Conflict: put it away first, then clean it in place.
        return [...take(obj, src), ...put(obj, dest), { verb, obj, tool }];
      }
      if (style === 'sanitize') {
        // Conflict: a new tool; the microwave sanitizes instead of the sink washing.
        return [
          ...take(obj, src),
          { verb: move, target: 'microwave 1' },
          { verb: 'sanitize', obj },
          ...put(obj, dest),
        ];
      }
      return [...take(obj, src), { verb: move, target: tool }, { verb, obj, tool }, ...put(obj, dest)];
    }
  }
}

/** Short ReAct-style thoughts before some actions (dropped first when over the byte budget). */
function thought(task: AlfTask, a: AlfAction, first: boolean): string | undefined {
  if (first) return `think: first I need a ${task.object}.`;
  if (a.verb === 'clean' || a.verb === 'heat' || a.verb === 'cool' || a.verb === 'sanitize') {
    return `think: now I ${a.verb} the ${task.object}.`;
  }
  if (a.verb === 'use') return `think: I hold the ${task.object}; now the lamp.`;
  return undefined;
}

export function toSteps(task: AlfTask, actions: AlfAction[], format: ActionFormat, think: boolean): Step[] {
  return actions.map((a, i) => ({
    say: formatAction(a, format),
    think: think && format === 'text' ? thought(task, a, i === 0) : undefined,
  }));
}

/** A rollout that follows the expert for a while, then errs (wrong receptacle or gives up). */
export function partialActions(task: AlfTask, style: AlfStyle, rng: Rng): AlfAction[] {
  const expert = expertActions(task, style);
  const cut = rng.int(1, expert.length - 1);
  const kept = expert.slice(0, cut);
  const holding = kept.reduce<string | null>(
    (h, a) => (a.verb === 'take' ? a.obj : a.verb === 'put' ? null : h),
    null,
  );
  const wrong = task.world.receptacles.filter((r) => typeOf(r) !== task.dest && typeOf(r) !== 'sidetable');
  if (holding && wrong.length > 0 && rng.chance(0.6)) {
    const to = rng.pick(wrong);
    const move = style === 'teleport' ? 'teleport' : 'go';
    kept.push({ verb: move, target: to });
    if (task.world.closed.has(to)) kept.push({ verb: 'open', target: to });
    kept.push({ verb: 'put', obj: holding, to });
  } else {
    kept.push({ verb: 'inventory' });
  }
  return kept;
}

/** A rollout that never gets hold of the goal object: it wanders and tries invalid things. */
export function failureActions(task: AlfTask, style: AlfStyle, rng: Rng): AlfAction[] {
  const srcs = new Set(sources(task).map(([, r]) => r));
  const elsewhere = task.world.receptacles.filter((r) => !srcs.has(r));
  const move = style === 'teleport' ? 'teleport' : 'go';
  const out: AlfAction[] = [];
  const n = rng.int(2, 4);
  for (let i = 0; i < n; i++) {
    const r = rng.pick(elsewhere.length ? elsewhere : task.world.receptacles);
    const kind = rng.int(0, 2);
    if (kind === 0) out.push({ verb: move, target: r });
    else if (kind === 1) out.push({ verb: 'take', obj: `${task.object} 1`, from: r });
    else out.push({ verb: 'examine', target: r });
  }
  return out;
}
