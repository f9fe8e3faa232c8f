import type { Trajectory, Turn } from '../../src/schemas/types.ts';

const turn = (role: Turn['role'], content: string, token_ids: number[] | null = null): Turn => ({
  role,
  content,
  token_ids,
  logprobs: null,
});

/** A two-turn text trajectory (user → assistant) the byte tokenizer can encode. */
export function textTrajectory(id: string, user: string, assistant: string): Trajectory {
  return {
    id,
    task_id: `task-${id}`,
    env: null,
    turns: [turn('user', user), turn('assistant', assistant)],
    reward: null,
    metadata: {},
    created_at: 0,
    behavior_model_version: null,
  };
}

/** A trajectory given as token ids (user ids, then assistant ids). */
export function tokenTrajectory(id: string, user: number[], assistant: number[]): Trajectory {
  return { ...textTrajectory(id, '', ''), turns: [turn('user', '', user), turn('assistant', '', assistant)] };
}

/** Mixed lengths, varied content. */
export function sampleTrajectories(n: number): Trajectory[] {
  const words = [
    'open the drawer',
    'go to kitchen',
    'take apple',
    'search[red shoes]',
    'click[buy now]',
    'look',
    'think: the key is on the desk',
  ];
  return Array.from({ length: n }, (_, i) =>
    textTrajectory(
      `t${i}`,
      `task ${i}: ${words[i % words.length]}`,
      words.slice(0, 1 + ((i * 3) % words.length)).join('; '),
    ),
  );
}
