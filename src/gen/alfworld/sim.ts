import { parseAction, type ActionFormat, type AlfAction } from './actions.ts';
import { TOOL_OF, isOpenable, listObjects, typeOf, type AlfTask } from './world.ts';

/**
 * The rules of one family's world. Base families use BASE_RULES (ALFWorld's); each conflict
 * family flips one rule, so its expert's actions fail under the base rules (see families.ts).
 */
export interface AlfRules {
  format: ActionFormat;
  /** `teleport to X` moves like `go to X`. */
  teleport: boolean;
  /** `microwave-sanitize X` cleans a held object at a microwave. */
  sanitize: boolean;
  /** Transforms applied to an object lying where the agent stands, instead of a held one at the appliance. */
  inPlace: ReadonlySet<'clean' | 'heat'>;
}

export const BASE_RULES: AlfRules = { format: 'text', teleport: false, sanitize: false, inPlace: new Set() };

const NOTHING = 'Nothing happens.';
type Prop = 'clean' | 'hot' | 'cool';
const PROP_OF: Record<'clean' | 'heat' | 'cool', Prop> = { clean: 'clean', heat: 'hot', cool: 'cool' };
const GOAL_PROP: Partial<Record<AlfTask['type'], Prop>> = { clean: 'clean', heat: 'hot', cool: 'cool' };

/** A tiny ALFWorld state machine: it turns commands into observations and scores the goal. */
export class AlfSim {
  private at: string | null = null;
  private holding: string | null = null;
  private readonly open = new Set<string>();
  private readonly where = new Map<string, string>();
  private readonly props = new Map<string, Set<Prop>>();
  private readonly taken = new Set<string>();
  private lit = false;
  private done = false;

  constructor(
    private readonly task: AlfTask,
    private readonly rules: AlfRules = BASE_RULES,
  ) {
    for (const [rec, items] of task.world.contents) for (const o of items) this.where.set(o, rec);
  }

  get success(): boolean {
    return this.done || this.goalNow();
  }

  /** Run one assistant turn's text; returns the observation. */
  stepText(content: string): string {
    const action = parseAction(content, this.rules.format);
    return action ? this.step(action) : NOTHING;
  }

  step(a: AlfAction): string {
    const obs = this.apply(a);
    if (this.goalNow()) this.done = true;
    return obs;
  }

  /** 1.0 on success, else the share of the task's milestones reached (rounded to 0.01). */
  reward(): number {
    const m = this.milestones();
    if (m[m.length - 1]) return 1;
    return Math.round((m.filter(Boolean).length / m.length) * 100) / 100;
  }

  private isTarget(o: string): boolean {
    return typeOf(o) === this.task.object;
  }

  private hasProp(o: string, p: Prop): boolean {
    return this.props.get(o)?.has(p) ?? false;
  }

  /** Most target objects (with the goal property, if any) in one receptacle of the goal type. */
  private placed(): number {
    const prop = GOAL_PROP[this.task.type];
    const counts = new Map<string, number>();
    for (const [o, rec] of this.where) {
      if (!this.isTarget(o) || typeOf(rec) !== this.task.dest) continue;
      if (prop && !this.hasProp(o, prop)) continue;
      counts.set(rec, (counts.get(rec) ?? 0) + 1);
    }
    return Math.max(0, ...counts.values());
  }

  private goalNow(): boolean {
    if (this.task.type === 'look') return this.lit && this.holding !== null && this.isTarget(this.holding);
    return this.placed() >= (this.task.type === 'pick2' ? 2 : 1);
  }

  private milestones(): boolean[] {
    const took = [...this.taken].filter((o) => this.isTarget(o)).length;
    const success = this.success;
    switch (this.task.type) {
      case 'pick':
      case 'look':
        return [took >= 1, success];
      case 'pick2':
        return [took >= 1, this.placed() >= 1, took >= 2, success];
      default: {
        const prop = GOAL_PROP[this.task.type] as Prop;
        const any = [...this.props].some(([o, ps]) => this.isTarget(o) && ps.has(prop));
        return [took >= 1, any, success];
      }
    }
  }

  private describe(rec: string): string {
    const items = this.task.world.contents.has(rec) ? this.itemsAt(rec) : [];
    const seen = items.length ? listObjects(items) : 'nothing';
    if (isOpenable(rec)) {
      if (!this.open.has(rec) && this.task.world.closed.has(rec)) return `The ${rec} is closed.`;
      return `The ${rec} is open. In it, you see ${seen}.`;
    }
    return `On the ${rec}, you see ${seen}.`;
  }

  private itemsAt(rec: string): string[] {
    return [...this.where].filter(([, r]) => r === rec).map(([o]) => o);
  }

  private isClosed(rec: string): boolean {
    return this.task.world.closed.has(rec) && !this.open.has(rec);
  }

  private exists(rec: string): boolean {
    return this.task.world.receptacles.includes(rec);
  }

  private apply(a: AlfAction): string {
    switch (a.verb) {
      case 'go':
      case 'teleport': {
        if (a.verb === 'teleport' && !this.rules.teleport) return NOTHING;
        if (!this.exists(a.target)) return NOTHING;
        this.at = a.target;
        const verb = a.verb === 'go' ? 'arrive at' : 'teleport to';
        return `You ${verb} ${a.target}. ${this.describe(a.target)}`;
      }
      case 'open': {
        if (this.at !== a.target || !isOpenable(a.target) || !this.isClosed(a.target)) return NOTHING;
        this.open.add(a.target);
        const items = this.itemsAt(a.target);
        return `You open the ${a.target}. The ${a.target} is open. In it, you see ${items.length ? listObjects(items) : 'nothing'}.`;
      }
      case 'close': {
        if (this.at !== a.target || !this.open.has(a.target)) return NOTHING;
        this.open.delete(a.target);
        return `You close the ${a.target}.`;
      }
      case 'take': {
        if (this.at !== a.from || this.holding || this.where.get(a.obj) !== a.from || this.isClosed(a.from)) {
          return NOTHING;
        }
        this.where.delete(a.obj);
        this.holding = a.obj;
        this.taken.add(a.obj);
        return `You pick up the ${a.obj} from the ${a.from}.`;
      }
      case 'put': {
        if (this.at !== a.to || this.holding !== a.obj || this.isClosed(a.to)) return NOTHING;
        this.holding = null;
        this.where.set(a.obj, a.to);
        return `You put the ${a.obj} in/on the ${a.to}.`;
      }
      case 'clean':
      case 'heat':
      case 'cool': {
        const toolType = typeOf(TOOL_OF[a.verb] ?? '');
        if (typeOf(a.tool) !== toolType || !this.exists(a.tool)) return NOTHING;
        const inPlace = a.verb !== 'cool' && this.rules.inPlace.has(a.verb);
        const ok = inPlace
          ? this.at !== null && this.where.get(a.obj) === this.at
          : this.holding === a.obj && this.at === a.tool;
        if (!ok) return NOTHING;
        this.addProp(a.obj, PROP_OF[a.verb]);
        return `You ${a.verb} the ${a.obj} using the ${a.tool}.`;
      }
      case 'sanitize': {
        if (!this.rules.sanitize || this.holding !== a.obj || typeOf(this.at ?? '') !== 'microwave')
          return NOTHING;
        this.addProp(a.obj, 'clean');
        return `You sanitize the ${a.obj} in the ${this.at}.`;
      }
      case 'use': {
        if (typeOf(a.target) !== 'desklamp' || this.where.get(a.target) !== this.at) return NOTHING;
        this.lit = true;
        return `You turn on the ${a.target}.`;
      }
      case 'examine':
        return this.at === a.target ? this.describe(a.target) : NOTHING;
      case 'look':
        return this.at ? `You are facing the ${this.at}. Next to it, you see nothing.` : NOTHING;
      case 'inventory':
        return this.holding ? `You are carrying: a ${this.holding}.` : 'You are not carrying anything.';
    }
  }

  private addProp(o: string, p: Prop): void {
    const set = this.props.get(o) ?? new Set<Prop>();
    set.add(p);
    this.props.set(o, set);
  }
}
