/**
 * Group-relative advantages (GRPO) over a stream. Records of one task_id are held in a window
 * until the group is complete (`groupSize` members) or the window expires (time or capacity);
 * then A_i = (r_i − mean_g) / (std_g + eps) (std scaling optional, as Dr. GRPO drops it).
 * A record released alone (no group formed) gets A = r − b from a running baseline b (EMA).
 */

export interface AdvantageOptions {
  /** Release a task's group as soon as it has this many members (0: only on expiry). */
  groupSize: number;
  /** A group smaller than this on release falls back to the running baseline. */
  minGroupSize: number;
  /** Oldest member may wait this long before its group is released. */
  windowMs: number;
  /** At most this many records are held; beyond that the oldest group is released. */
  maxPending: number;
  /** Divide by the group (or running) standard deviation. */
  scaleByStd: boolean;
  eps: number;
  /** EMA factor of the running baseline: b ← b + α·(r − b). */
  baselineAlpha: number;
}

/** Running mean and variance (EMA) of rewards; serialized into the checkpoint manifest. */
export interface BaselineState {
  count: number;
  mean: number;
  variance: number;
}

export class RunningBaseline {
  private s: BaselineState;
  constructor(
    private readonly alpha: number,
    state?: BaselineState,
  ) {
    this.s = state ? { ...state } : { count: 0, mean: 0, variance: 0 };
  }

  get state(): BaselineState {
    return { ...this.s };
  }

  /** Advantage against the baseline *before* this reward is folded in; the first reward gets 0. */
  advantage(reward: number, scaleByStd: boolean, eps: number): { advantage: number; baseline: number } {
    if (this.s.count === 0) return { advantage: 0, baseline: reward };
    const centred = reward - this.s.mean;
    const sd = Math.sqrt(this.s.variance);
    const advantage = scaleByStd && this.s.count >= 2 ? centred / (sd + eps) : centred;
    return { advantage, baseline: this.s.mean };
  }

  update(reward: number): void {
    if (this.s.count === 0) {
      this.s = { count: 1, mean: reward, variance: 0 };
      return;
    }
    const d = reward - this.s.mean;
    const mean = this.s.mean + this.alpha * d;
    // EMA variance (West 1979 incremental form).
    const variance = (1 - this.alpha) * (this.s.variance + this.alpha * d * d);
    this.s = { count: this.s.count + 1, mean, variance };
  }
}

export interface Released<T> {
  item: T;
  reward: number;
  advantage: number;
  /** Members in the group it was normalised in; 1 = running baseline. */
  groupSize: number;
}

interface Group<T> {
  key: string;
  firstAt: number;
  members: { item: T; reward: number }[];
}

/** Population mean and std of a group's rewards. */
export function groupStats(rewards: readonly number[]): { mean: number; std: number } {
  const n = rewards.length;
  const mean = rewards.reduce((a, b) => a + b, 0) / n;
  const variance = rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / n;
  return { mean, std: Math.sqrt(variance) };
}

export function groupAdvantages(rewards: readonly number[], scaleByStd: boolean, eps: number): number[] {
  const { mean, std } = groupStats(rewards);
  return rewards.map((r) => (scaleByStd ? (r - mean) / (std + eps) : r - mean));
}

export class GroupWindow<T> {
  private readonly groups = new Map<string, Group<T>>();
  private pending = 0;
  readonly baseline: RunningBaseline;

  constructor(
    private readonly opts: AdvantageOptions,
    baseline?: BaselineState,
  ) {
    this.baseline = new RunningBaseline(opts.baselineAlpha, baseline);
  }

  get pendingCount(): number {
    return this.pending;
  }

  /** Adds a record; returns whatever became releasable (its group completed, or capacity forced out the oldest). */
  push(key: string, reward: number, item: T, now: number): Released<T>[] {
    let g = this.groups.get(key);
    if (g === undefined) {
      g = { key, firstAt: now, members: [] };
      this.groups.set(key, g);
    }
    g.members.push({ item, reward });
    this.pending += 1;
    const out: Released<T>[] = [];
    if (this.opts.groupSize > 0 && g.members.length >= this.opts.groupSize) out.push(...this.release(g));
    while (this.pending > this.opts.maxPending) {
      const oldest = this.groups.values().next().value as Group<T>;
      out.push(...this.release(oldest));
    }
    return out;
  }

  /** Releases groups whose oldest member has waited windowMs. */
  expire(now: number): Released<T>[] {
    const out: Released<T>[] = [];
    // Map iteration is insertion order = age order of the groups' first member.
    for (const g of [...this.groups.values()]) {
      if (now - g.firstAt < this.opts.windowMs) break;
      out.push(...this.release(g));
    }
    return out;
  }

  /** Time until the next group expires (ms), or undefined when nothing is held. */
  nextExpiryIn(now: number): number | undefined {
    const first = this.groups.values().next().value as Group<T> | undefined;
    return first === undefined ? undefined : Math.max(0, first.firstAt + this.opts.windowMs - now);
  }

  /** Releases everything (shutdown or idle stream). */
  flush(): Released<T>[] {
    const out: Released<T>[] = [];
    for (const g of [...this.groups.values()]) out.push(...this.release(g));
    return out;
  }

  private release(g: Group<T>): Released<T>[] {
    this.groups.delete(g.key);
    this.pending -= g.members.length;
    const { scaleByStd, eps } = this.opts;
    let out: Released<T>[];
    if (g.members.length >= Math.max(2, this.opts.minGroupSize)) {
      const adv = groupAdvantages(
        g.members.map((m) => m.reward),
        scaleByStd,
        eps,
      );
      out = g.members.map((m, i) => ({
        item: m.item,
        reward: m.reward,
        advantage: adv[i],
        groupSize: g.members.length,
      }));
    } else {
      out = g.members.map((m) => ({
        item: m.item,
        reward: m.reward,
        advantage: this.baseline.advantage(m.reward, scaleByStd, eps).advantage,
        groupSize: 1,
      }));
    }
    for (const m of g.members) this.baseline.update(m.reward);
    return out;
  }
}
