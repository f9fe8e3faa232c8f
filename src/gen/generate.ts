import { ConfigError } from '../errors.ts';
import type { Trajectory } from '../schemas/types.ts';
import { AlfSim } from './alfworld/sim.ts';
import { expertActions, failureActions, partialActions, toSteps } from './alfworld/policy.ts';
import { buildTask, goalText, roomDescription, type AlfTask } from './alfworld/world.ts';
import { playEpisode, type Episode, type EpisodeEnv, type Step } from './episode.ts';
import {
  ALL_FAMILIES,
  BASE_FAMILIES,
  CONFLICT_FAMILIES,
  type AlfFamily,
  type Family,
  type ShopFamily,
} from './families.ts';
import { Rng } from './rng.ts';
import { buildShopTask, instruction, type ShopTask } from './webshop/catalog.ts';
import { expertSteps, failureSteps, partialSteps } from './webshop/policy.ts';
import { ShopSim } from './webshop/sim.ts';

export const GENERATOR_VERSION = 'prism-gen/1';

export interface GenOptions {
  /** Number of trajectories. */
  n: number;
  seed: number;
  /** Family names allowed (base and/or conflict); default: every base family. */
  families?: readonly string[];
  /** Share of tasks drawn from the conflict families, in [0, 1]. Default 0. */
  conflictShare?: number;
  /** Byte budget of one trajectory's turn contents. Default DEFAULT_MAX_CHARS. */
  maxChars?: number;
  /** Rollouts per task (one GRPO group). Default 4. */
  groupSize?: number;
  /** created_at of the first record; default derived from the seed. */
  startMs?: number;
}

/**
 * ALFWorld-templated expert episodes need ~550 (pick, look) to ~1,100 bytes (pick2); 1024 fits
 * all of them once the room is shrunk. Use --max-chars 512 for a 512-byte model: long episodes
 * are then cut (and scored as cut).
 */
export const DEFAULT_MAX_CHARS = 1024;
export const MIN_MAX_CHARS = 256;
export const DEFAULT_GROUP_SIZE = 4;
/** Rollout kinds and their weights: expert (success), partial progress, failure. */
const ROLLOUT_WEIGHTS = [0.5, 0.25, 0.25];
const SALT = { task: 1, world: 2, rollout: 3 } as const;
const DAY_MS = 86_400_000;

interface Resolved {
  n: number;
  seed: number;
  base: Family[];
  conflict: Family[];
  conflictShare: number;
  maxChars: number;
  groupSize: number;
  startMs: number;
}

function resolve(opts: GenOptions): Resolved {
  const { n, seed } = opts;
  if (!Number.isInteger(n) || n < 0)
    throw new ConfigError(`gen: --n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(seed)) throw new ConfigError(`gen: --seed must be an integer, got ${seed}`);
  const share = opts.conflictShare ?? 0;
  if (!(share >= 0 && share <= 1))
    throw new ConfigError(`gen: --conflict-share must be in [0, 1], got ${share}`);
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  if (!Number.isInteger(maxChars) || maxChars < MIN_MAX_CHARS) {
    throw new ConfigError(`gen: --max-chars must be an integer >= ${MIN_MAX_CHARS}, got ${maxChars}`);
  }
  const groupSize = opts.groupSize ?? DEFAULT_GROUP_SIZE;
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new ConfigError(`gen: --group-size must be a positive integer, got ${groupSize}`);
  }
  const names = opts.families ?? BASE_FAMILIES.map((f) => f.name);
  const unknown = names.filter((x) => !ALL_FAMILIES.some((f) => f.name === x));
  if (unknown.length > 0) {
    throw new ConfigError(
      `gen: unknown famil${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}; known: ${ALL_FAMILIES.map((f) => f.name).join(', ')}`,
    );
  }
  if (names.length === 0) throw new ConfigError('gen: --families is empty');
  const base = BASE_FAMILIES.filter((f) => names.includes(f.name));
  const named = CONFLICT_FAMILIES.filter((f) => names.includes(f.name));
  // Conflict families not named explicitly: all of them serve the conflict share.
  const conflict = named.length > 0 ? named : [...CONFLICT_FAMILIES];
  // With no base family on the list, every task comes from the conflict pool.
  const conflictShare = base.length === 0 ? 1 : share;
  const startMs = opts.startMs ?? Date.UTC(2025, 0, 1) + (Math.abs(seed) % 365) * DAY_MS;
  return { n, seed, base, conflict, conflictShare, maxChars, groupSize, startMs };
}

type TaskOf =
  | { env: 'alfworld'; family: AlfFamily; task: AlfTask }
  | { env: 'webshop'; family: ShopFamily; task: ShopTask };

function alfEnv(family: AlfFamily, task: AlfTask): () => EpisodeEnv {
  return () => {
    const sim = new AlfSim(task, family.rules);
    return { respond: (c) => sim.stepText(c), reward: () => sim.reward() };
  };
}

function shopEnv(family: ShopFamily, task: ShopTask): () => EpisodeEnv {
  return () => {
    const sim = new ShopSim(task, family.rules);
    return { respond: (c) => sim.stepText(c), reward: () => sim.reward() };
  };
}

export function userPrompt(t: TaskOf): string {
  return t.env === 'alfworld'
    ? `${roomDescription(t.task.world)}\nYour task is to: ${goalText(t.task)}`
    : `Instruction: ${instruction(t.task)}`;
}

/** Build the task, shrinking the room until the expert episode fits the byte budget. */
function buildAlf(family: AlfFamily, r: Resolved, taskIndex: number, size: number): AlfTask {
  const needs = family.needs ?? [];
  let task = buildTask(family.taskType, new Rng(r.seed, taskIndex, SALT.world, size), size, needs);
  for (let s = size; s >= 3; s--) {
    task = buildTask(family.taskType, new Rng(r.seed, taskIndex, SALT.world, s), s, needs);
    const steps = toSteps(task, expertActions(task, family.style), family.rules.format, false);
    const ep = playEpisode(
      family.system,
      userPrompt({ env: 'alfworld', family, task }),
      steps,
      alfEnv(family, task),
      r.maxChars,
    );
    if (!ep.truncated) return task;
  }
  // Last resort: nothing closed, so no `open` steps. Whatever still does not fit is truncated.
  task.world.closed.clear();
  return task;
}

function buildTaskFor(r: Resolved, taskIndex: number): TaskOf {
  const rng = new Rng(r.seed, taskIndex, SALT.task);
  const pool = rng.chance(r.conflictShare) ? r.conflict : r.base;
  const family = rng.pick(pool);
  if (family.env === 'webshop') return { env: 'webshop', family, task: buildShopTask(rng) };
  return { env: 'alfworld', family, task: buildAlf(family, r, taskIndex, rng.int(3, 5)) };
}

function rolloutSteps(t: TaskOf, kind: number, rng: Rng): Step[] {
  if (t.env === 'webshop') {
    if (kind === 0) return expertSteps(t.task, t.family.style);
    return kind === 1 ? partialSteps(t.task, t.family.style, rng) : failureSteps(t.task, rng);
  }
  const { family, task } = t;
  const actions =
    kind === 0
      ? expertActions(task, family.style)
      : kind === 1
        ? partialActions(task, family.style, rng)
        : failureActions(task, family.style, rng);
  return toSteps(task, actions, family.rules.format, kind === 0 && rng.chance(0.5));
}

function play(t: TaskOf, steps: Step[], maxChars: number): Episode {
  const makeEnv = t.env === 'alfworld' ? alfEnv(t.family, t.task) : shopEnv(t.family, t.task);
  return playEpisode(t.family.system, userPrompt(t), steps, makeEnv, maxChars);
}

function outcome(reward: number): 'success' | 'partial' | 'failure' {
  return reward >= 1 ? 'success' : reward > 0 ? 'partial' : 'failure';
}

/**
 * Synthetic agent trajectories, deterministic for (options, seed). Records come in GRPO groups:
 * `groupSize` consecutive rollouts share one task_id and world, and differ in policy (expert,
 * partial, failure) and so in reward.
 */
export function generate(opts: GenOptions): Generator<Trajectory> {
  // Resolve now, so bad options throw before the caller opens an output file.
  return records(resolve(opts));
}

function* records(r: Resolved): Generator<Trajectory> {
  const cache = new Map<number, TaskOf>();
  for (let i = 0; i < r.n; i++) {
    const taskIndex = Math.floor(i / r.groupSize);
    const rollout = i % r.groupSize;
    // A group's rollouts are consecutive: keep only the current task.
    let t = cache.get(taskIndex);
    if (t === undefined) {
      cache.clear();
      t = buildTaskFor(r, taskIndex);
      cache.set(taskIndex, t);
    }
    const rng = new Rng(r.seed, taskIndex, SALT.rollout, rollout);
    const kind = rng.weighted(ROLLOUT_WEIGHTS);
    const ep = play(t, rolloutSteps(t, kind, rng), r.maxChars);
    const taskId = `gen-s${r.seed}-t${taskIndex}`;
    const metadata: Record<string, string> = {
      family: t.family.name,
      conflict: t.family.conflict ? 'true' : 'false',
      outcome: outcome(ep.reward),
      rollout: String(rollout),
      generator: GENERATOR_VERSION,
      seed: String(r.seed),
    };
    if (t.env === 'alfworld') metadata.task_type = t.family.taskType;
    if (t.family.conflict) {
      metadata.conflict_kind = t.family.conflict.kind;
      metadata.base_family = t.family.conflict.base;
    }
    if (ep.truncated) metadata.truncated = 'true';
    yield {
      id: `${taskId}-r${rollout}`,
      task_id: taskId,
      env: t.family.env,
      turns: ep.turns,
      reward: ep.reward,
      metadata,
      created_at: r.startMs + i * 1000,
      behavior_model_version: null,
    };
  }
}
