import type { Turn } from '../schemas/types.ts';

/** One assistant move: the command, and maybe a short thought on the line before it. */
export interface Step {
  say: string;
  think?: string;
}

/** An environment instance the episode runs against: it answers each assistant turn. */
export interface EpisodeEnv {
  /** Observation for one assistant turn's full text. */
  respond(content: string): string;
  reward(): number;
}

export interface Episode {
  turns: Turn[];
  reward: number;
  /** True when steps were dropped to stay within the byte budget. */
  truncated: boolean;
  /** True when the thoughts were dropped to stay within the byte budget. */
  thoughtsDropped: boolean;
}

function turn(role: Turn['role'], content: string): Turn {
  return { role, content, token_ids: null, logprobs: null };
}

export function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export function episodeBytes(turns: readonly Turn[]): number {
  return turns.reduce((n, t) => n + bytes(t.content), 0);
}

function content(step: Step, withThought: boolean): string {
  return withThought && step.think ? `${step.think}\n${step.say}` : step.say;
}

function run(
  system: string,
  user: string,
  steps: readonly Step[],
  makeEnv: () => EpisodeEnv,
  maxBytes: number,
  withThought: boolean,
): Episode {
  let env = makeEnv();
  const turns = [turn('system', system), turn('user', user)];
  let used = episodeBytes(turns);
  let kept = 0;
  for (const step of steps) {
    const said = content(step, withThought);
    const obs = env.respond(said);
    const cost = bytes(said) + bytes(obs);
    if (kept > 0 && used + cost > maxBytes) break;
    turns.push(turn('assistant', said), turn('observation', obs));
    used += cost;
    kept++;
  }
  if (kept < steps.length) {
    // The step that did not fit already changed `env`: score a replay of the kept steps.
    env = makeEnv();
    for (let i = 0; i < kept; i++) env.respond(content(steps[i], withThought));
  }
  return { turns, reward: env.reward(), truncated: kept < steps.length, thoughtsDropped: false };
}

/**
 * Play `steps` against a fresh env and record the turns: system, user, then assistant and
 * observation alternating. Stays within `maxBytes` of turn content: thoughts go first, then
 * trailing steps (the reward is that of the steps kept). At least one assistant turn is kept.
 */
export function playEpisode(
  system: string,
  user: string,
  steps: readonly Step[],
  makeEnv: () => EpisodeEnv,
  maxBytes: number,
): Episode {
  const full = run(system, user, steps, makeEnv, maxBytes, true);
  if (!full.truncated || !steps.some((s) => s.think)) return full;
  const plain = run(system, user, steps, makeEnv, maxBytes, false);
  return { ...plain, thoughtsDropped: true };
}
