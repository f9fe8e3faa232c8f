/**
 * The PyTorch side of `prism bench profile` (bench/pytorch/profile_torch.py), both ways, on a tiny preset
 * folder: every op is attributed to a phase, and the hook way's norm work lands in "norms" (its phases come
 * from wrapping the scorer service's functions, which a change there could silently undo).
 * Needs python3 with torch, transformers and clients/python installed (CI installs them).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileResult } from '../../src/bench/profile.ts';
import { exportSequences } from '../../src/bench/torch.ts';
import { initModel } from '../../src/model/llama.ts';
import { saveModel } from '../../src/model-store/llama.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = process.env.PRISM_TEST_PYTHON ?? 'python3';

interface Op {
  phase: string;
  name: string;
  selfMs: number;
  calls: number;
  flops: number;
}

describe('profile_torch.py (PyTorch side of bench profile)', () => {
  let dir = '';
  let ids = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prism-profile-torch-'));
    const m = initModel({ preset: 'tiny', arch: 'llama', seed: 0 });
    try {
      await saveModel(m, join(dir, 'model'));
      ids = join(dir, 'ids.json');
      writeFileSync(ids, JSON.stringify(exportSequences(4, 24, m.config.vocab_size)));
    } finally {
      m.dispose();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const profile = async (way: string): Promise<{ way: string; trajectories: number; ops: Op[] }> => {
    const script = join(ROOT, 'bench', 'pytorch', 'profile_torch.py');
    const args = [script, '--model', join(dir, 'model'), '--ids', ids, '--threads', '1', '--method', way];
    const { stdout } = await run(PYTHON, args, { env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '');
  };
  const msIn = (ops: Op[], phase: string): number =>
    ops.filter((o) => o.phase === phase).reduce((s, o) => s + o.selfMs, 0);

  it('labels the hook way’s forward, backward and per-example norm work', async () => {
    const out = await profile('hooks');
    expect(out.way).toBe('hooks');
    expect(out.trajectories).toBe(4);
    for (const phase of ['forward', 'backward', 'norms']) expect(msIn(out.ops, phase)).toBeGreaterThan(0);
    // The per-example products (or Grams) are bmm calls inside the backward hooks: attributed to norms.
    expect(out.ops.some((o) => o.phase === 'norms' && o.name === 'aten::bmm')).toBe(true);
    expect(out.ops.some((o) => o.phase === 'backward' && o.name === 'aten::bmm')).toBe(false);
    // Nearly all op time sits in a phase (only the embedding lookup and padding run outside).
    const all = out.ops.reduce((s, o) => s + o.selfMs, 0);
    expect(msIn(out.ops, 'other') / all).toBeLessThan(0.2);
  }, 120_000);

  it('prism bench profile runs both sides in children and writes the hook way’s result file', async () => {
    const results = join(dir, 'results');
    const args = [join(ROOT, 'bin', 'prism.mjs'), 'bench', 'profile', '--preset', 'tiny', '--batch', '2'];
    args.push('--seq', '16', '--reps', '1', '--profiled', '1', '--threads', '1', '--backend', 'cpu');
    args.push('--torch-way', 'hooks', '--results', results);
    await run(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, PRISM_TORCH_PYTHON: PYTHON, TF_NUM_INTRAOP_THREADS: '' },
    });
    const r = JSON.parse(
      readFileSync(join(results, 'profile-tiny-2x16-hooks.json'), 'utf8'),
    ) as ProfileResult;
    expect(r.torch.way).toBe('hooks');
    expect(r.ours.backend.kind).toBe('cpu');
    expect(r.ours.kernels).toBeGreaterThan(0);
    expect(r.ours.profile.byPhase.map((p) => p.name)).toContain('backward');
    expect(r.model.id).toBe('tiny');
    expect(r.speedVsTorch).toBeGreaterThan(0);
    expect(Number.isFinite(r.speedVsTorch)).toBe(true);
  }, 180_000);

  it('still profiles the paper loop by default', async () => {
    const out = await profile('loop');
    expect(out.way).toBe('loop');
    for (const phase of ['forward', 'backward', 'norms']) expect(msIn(out.ops, phase)).toBeGreaterThan(0);
    expect(out.ops.some((o) => o.name === 'aten::linalg_vector_norm' && o.phase === 'norms')).toBe(true);
  }, 120_000);
});
