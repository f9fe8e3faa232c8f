import { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/commands/model.ts';
import { ConfigError } from '../../src/errors.ts';
import { generate } from '../../src/gen/generate.ts';
import { initModel } from '../../src/model/llama.ts';
import { loadModel, saveModel } from '../../src/model-store/llama.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-warm-start-'));
const init = join(dir, 'init');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  const m = initModel({ preset: 'tiny', arch: 'llama', seed: 3 });
  try {
    await saveModel(m, init);
  } finally {
    m.dispose();
  }
});

async function prism(...args: string[]): Promise<string> {
  const program = new Command('prism').exitOverride();
  register(program);
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'prism', 'model', ...args]);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return out.join('');
}

async function projectionWeights(path: string): Promise<Float32Array> {
  const m = await loadModel(path);
  try {
    const arrays = await m.weightArrays();
    return Float32Array.from(arrays.get('model.layers.0.self_attn.q_proj.weight') ?? []);
  } finally {
    m.dispose();
  }
}

// Small enough for a unit test: a few steps of 2 short trajectories (512 tokens keep their assistant turns).
const SMALL = ['--batch', '2', '--max-seq-len', '512', '--max-chars', '256', '--no-progress'];

describe('prism model warm-start', () => {
  it('trains the --from model for --steps steps and writes a loadable model folder with its recipe', async () => {
    const out = join(dir, 'ws');
    const stdout = await prism('warm-start', '--from', init, '--steps', '3', '--out', out, ...SMALL);
    const summary = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(summary).toMatchObject({ from: init, out, steps: 3, microBatchSize: 2, maxSeqLen: 512 });
    expect(Number.isFinite(summary.firstLoss)).toBe(true);
    expect(Number.isFinite(summary.lastLoss)).toBe(true);
    expect(existsSync(join(out, 'config.json'))).toBe(true);
    const recipe = JSON.parse(readFileSync(join(out, 'prism-warm-start.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(recipe).toMatchObject({ steps: 3, data: expect.stringMatching(/seed 1001/) });
    // The weights moved, the starting folder did not.
    const before = await projectionWeights(init);
    const after = await projectionWeights(out);
    expect(after).toHaveLength(before.length);
    expect(after.some((v, i) => v !== before[i])).toBe(true);
    const again = await projectionWeights(init);
    expect(again).toEqual(before);
  });

  it('trains on --in records when given, and says when there are too few', async () => {
    const file = join(dir, 'train.jsonl');
    const records = [...generate({ n: 4, seed: 5, maxChars: 256, groupSize: 4, conflictShare: 0 })];
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(dir, 'ws-in');
    const summary = JSON.parse(
      (
        await prism('warm-start', '--from', init, '--steps', '2', '--in', file, '--out', out, ...SMALL)
      ).trim(),
    ) as Record<string, unknown>;
    expect(summary).toMatchObject({ steps: 2, data: file });
    await expect(
      prism('warm-start', '--from', init, '--steps', '3', '--in', file, '--out', out, ...SMALL),
    ).rejects.toThrow(/4 valid records .* needs 6/);
  });

  it('fails, naming the reason, when no record fits a training step', async () => {
    const args = ['warm-start', '--from', init, '--steps', '2', '--out', join(dir, 'ws-none')];
    // 2 tokens hold no assistant target: every record is rejected.
    const small = SMALL.map((v, i) => (SMALL[i - 1] === '--max-seq-len' ? '2' : v));
    await expect(prism(...args, ...small)).rejects.toThrow(/no training step was possible.*NO_TARGET_TOKENS/);
  });

  it('names a missing --from folder', async () => {
    const missing = join(dir, 'nope');
    const p = prism('warm-start', '--from', missing, '--steps', '1', '--out', join(dir, 'x'), ...SMALL);
    await expect(p).rejects.toThrow(ConfigError);
    await expect(
      prism('warm-start', '--from', missing, '--steps', '1', '--out', join(dir, 'x'), ...SMALL),
    ).rejects.toThrow(/does not exist/);
  });
});
