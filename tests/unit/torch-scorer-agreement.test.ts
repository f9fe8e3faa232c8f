/**
 * fp32 agreement of the PyTorch scorer service (spawned, CPU) with the tfjs scorer on the same folders:
 * `prism model init` tiny/small presets and a model written by transformers' save_pretrained.
 * Needs python3 with torch and transformers (CI installs them); fails with what to install otherwise.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { openPrismScorer } from '../../src/scorer-host/open.ts';
import type { ScoreOutcome } from '../../src/scorer/types.ts';
import { openTorchScorer } from '../../src/scorer-host/torch/index.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = process.env.PRISM_TEST_PYTHON ?? 'python3';
const log = createLogger('test', 'silent');
const TOL = 1e-4;

function trajectories(n: number, vocab: number): Trajectory[] {
  let x = 12345;
  const rnd = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, (_, i) => {
    const ids = (len: number): number[] => Array.from({ length: len }, () => Math.floor(rnd() * vocab));
    return {
      id: `a-${i}`,
      task_id: 't',
      env: 'test',
      turns: [
        { role: 'user', content: '', token_ids: ids(5 + (i % 7)), logprobs: null },
        { role: 'assistant', content: '', token_ids: ids(8 + ((i * 5) % 23)), logprobs: null },
      ],
      reward: 1,
      metadata: {},
      created_at: 0,
      behavior_model_version: null,
    } as unknown as Trajectory;
  });
}

function maxRelDiff(a: ScoreOutcome[], b: ScoreOutcome[]): { norms: number; loss: number; gini: number } {
  const d = { norms: 0, loss: 0, gini: 0 };
  a.forEach((o, i) => {
    const q = b[i];
    if (!o.ok || !q.ok) throw new Error(`trajectory ${i} not scored: ${JSON.stringify([o, q])}`);
    const an = o.scores.norms ?? [];
    const bn = q.scores.norms ?? [];
    expect(an.length).toBe(bn.length);
    an.forEach((v, j) => (d.norms = Math.max(d.norms, Math.abs(v - bn[j]) / Math.abs(bn[j]))));
    d.loss = Math.max(d.loss, Math.abs(o.scores.loss - q.scores.loss) / q.scores.loss);
    d.gini = Math.max(d.gini, Math.abs(o.scores.gini - q.scores.gini));
    expect(o.scores.response_tokens).toBe(q.scores.response_tokens);
  });
  return d;
}

const dir = mkdtempSync(join(tmpdir(), 'torch-agree-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, transformers, safetensors'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `${PYTHON} cannot import torch/transformers/safetensors, which scorer.kind torch needs: ` +
        `python3 -m pip install './clients/python[hf]' (${(err as Error).message.split('\n')[0]})`,
      { cause: err },
    );
  }
}, 120_000);

async function prismInit(name: string, preset: string, arch: string): Promise<string> {
  const out = join(dir, name);
  await run(process.execPath, [
    join(ROOT, 'bin', 'prism.mjs'),
    'model',
    'init',
    '--preset',
    preset,
    '--arch',
    arch,
    '--seed',
    '7',
    '--out',
    out,
  ]);
  return out;
}

async function transformersWritten(name: string): Promise<string> {
  const out = join(dir, name);
  const code = `from pathlib import Path\nfrom prism_stream.scorer_service.testing import write_tiny\nwrite_tiny(Path(${JSON.stringify(out)}), "qwen2", seed=11)`;
  await run(PYTHON, ['-c', code], { env: { ...process.env, PYTHONPATH: join(ROOT, 'clients', 'python') } });
  return out;
}

const CASES: { name: string; make: () => Promise<string>; n: number }[] = [
  { name: 'tiny llama (prism model init)', make: () => prismInit('tiny-llama', 'tiny', 'llama'), n: 12 },
  { name: 'tiny qwen3 (prism model init)', make: () => prismInit('tiny-qwen3', 'tiny', 'qwen3'), n: 8 },
  { name: 'small llama (prism model init)', make: () => prismInit('small-llama', 'small', 'llama'), n: 4 },
  { name: 'qwen2 written by transformers', make: () => transformersWritten('hf-qwen2'), n: 8 },
];

describe('torch scorer service agrees with the tfjs scorer (fp32, CPU)', () => {
  for (const c of CASES) {
    it(
      c.name,
      async () => {
        const modelDir = await c.make();
        const common = { modelDir, emitNorms: true, batchSize: 4, maxSeqLen: 128 };
        const torch = await openTorchScorer(
          { ...common, torch: { python: PYTHON, device: 'cpu', dtype: 'fp32' } },
          { logger: log },
        );
        const { scorer: tfjs } = await openPrismScorer({ ...common, path: 'batched' }, { logger: log });
        try {
          expect(torch.probeModelVersion).toBe(tfjs.probeModelVersion);
          const trajs = trajectories(c.n, 250);
          const d = maxRelDiff(await torch.scoreBatch(trajs), await tfjs.scoreBatch(trajs));
          expect(d.norms).toBeLessThan(TOL);
          expect(d.loss).toBeLessThan(TOL);
          expect(d.gini).toBeLessThan(TOL);
        } finally {
          torch.dispose();
          tfjs.dispose();
        }
      },
      240_000,
    );
  }
});
