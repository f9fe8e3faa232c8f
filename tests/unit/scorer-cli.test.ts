import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scorerSection } from '../../src/config/scorer.ts';
import { initModel } from '../../src/model/index.ts';
import { saveModel } from '../../src/model-store/llama.ts';
import { sampleTrajectories, tokenTrajectory } from './scorer-fixtures.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/prism.mjs');

describe('prism score', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prism-score-cli-'));
    const model = initModel({ preset: 'tiny', arch: 'llama', seed: 3 });
    await saveModel(model, join(dir, 'model'));
    model.dispose();
    const lines = [
      ...sampleTrajectories(3).map((t) => JSON.stringify(t)),
      '{"this is": not json',
      JSON.stringify(tokenTrajectory('oov', [1, 2], [3, 70000])),
      JSON.stringify(sampleTrajectories(5)[4]),
    ];
    await writeFile(join(dir, 'in.jsonl'), `${lines.join('\n')}\n`);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('writes one line per input record: scores with routes and norms, or the reason code', async () => {
    const out = join(dir, 'out.jsonl');
    const { stderr } = await run(
      process.execPath,
      [
        CLI,
        'score',
        '--model',
        join(dir, 'model'),
        '--in',
        join(dir, 'in.jsonl'),
        '--out',
        out,
        '--batch',
        '2',
        '--emit-norms',
        '--threshold',
        '0.3',
        '--backend',
        'wasm',
        '--no-progress',
      ],
      { env: { ...process.env, PRISM_LOG_LEVEL: 'warn' } },
    );
    expect(stderr).toMatch(/scored 4, bad 2 \(DECODE_INVALID_JSON: 1, TOKEN_OUT_OF_VOCAB: 1\)/);
    const rows = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(6);
    const scored = rows.filter((r) => r.prism !== undefined);
    expect(scored.map((r) => r.id)).toEqual(['t0', 't1', 't2', 't4']);
    for (const r of scored) {
      const p = r.prism as Record<string, unknown>;
      expect(p).toMatchObject({ metric: 'gini', threshold: 0.3, probe_model_id: 'model', truncated: false });
      expect(p.route).toBe((p.gini as number) > 0.3 ? 'RL' : 'SFT');
      expect(p.norms).toHaveLength(28);
      expect(p.probe_model_version).toMatch(/^sha-[0-9a-f]{12}$/);
      for (const k of ['gini', 'kurtosis', 'cv', 'l2', 'loss', 'response_tokens'])
        expect(typeof p[k]).toBe('number');
    }
    const bad = rows
      .filter((r) => r.error !== undefined)
      .map((r) => [r.id, (r.error as { code: string }).code]);
    expect(bad).toEqual([
      [null, 'DECODE_INVALID_JSON'],
      ['oov', 'TOKEN_OUT_OF_VOCAB'],
    ]);
  });

  it('leaves out norms and routes unless asked', async () => {
    const out = join(dir, 'plain.jsonl');
    await run(
      process.execPath,
      [
        CLI,
        'score',
        '--model',
        join(dir, 'model'),
        '--in',
        join(dir, 'in.jsonl'),
        '--out',
        out,
        '--backend',
        'wasm',
        '--no-progress',
      ],
      {
        env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
      },
    );
    const first = JSON.parse((await readFile(out, 'utf8')).split('\n')[0]) as {
      prism: Record<string, unknown>;
    };
    expect(first.prism.norms).toBeNull();
    expect(first.prism).not.toHaveProperty('route');
    expect(first.prism).not.toHaveProperty('threshold');
  });
});

describe('prism score --thread', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prism-score-thread-'));
    const model = initModel({ preset: 'tiny', arch: 'llama', seed: 5 });
    await saveModel(model, join(dir, 'model'));
    model.dispose();
    const lines = [...sampleTrajectories(3), tokenTrajectory('oov', [1, 2], [3, 70000])];
    await writeFile(join(dir, 'in.jsonl'), `${lines.map((t) => JSON.stringify(t)).join('\n')}\n`);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  /** Output lines without scored_at (the only field that differs between two runs). */
  async function scoreWith(thread: 'worker' | 'main'): Promise<{ rows: unknown[]; stderr: string }> {
    const out = join(dir, `${thread}.jsonl`);
    const args = ['--model', join(dir, 'model'), '--in', join(dir, 'in.jsonl'), '--out', out];
    const { stderr } = await run(
      process.execPath,
      [
        CLI,
        'score',
        ...args,
        '--emit-norms',
        '--backend',
        'cpu',
        '--path',
        'batched',
        '--thread',
        thread,
        '--no-progress',
      ],
      { env: { ...process.env, PRISM_LOG_LEVEL: 'warn' } },
    );
    const rows = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { prism?: Record<string, unknown> })
      .map((r) => (r.prism ? { ...r, prism: { ...r.prism, scored_at: 0 } } : r));
    return { rows, stderr };
  }

  it('scores the same in the worker thread (default) as on the main thread', async () => {
    const worker = await scoreWith('worker');
    const main = await scoreWith('main');
    expect(worker.stderr).toMatch(/scored 3, bad 1 \(TOKEN_OUT_OF_VOCAB: 1\) .* on cpu \(batched path\)/);
    expect(main.stderr).toMatch(/scored 3, bad 1 \(TOKEN_OUT_OF_VOCAB: 1\) .* on cpu \(batched path\)/);
    expect(worker.rows).toHaveLength(4);
    expect(worker.rows).toEqual(main.rows);
  });
});

describe('scorer config section', () => {
  it('defaults to auto backend and path, batch 16, gini, no norms', () => {
    expect(scorerSection.parse({})).toMatchObject({
      backend: 'auto',
      path: 'auto',
      normMethod: 'auto',
      batchSize: 16,
      maxBatchMemoryMB: 'auto',
      thread: 'worker',
      maxBatchTokens: 16_384,
      maxSeqLen: 1024,
      emitNorms: false,
      metric: 'gini',
    });
  });

  it('rejects unknown keys and backends', () => {
    expect(() => scorerSection.parse({ backend: 'metal' })).toThrow();
    expect(() => scorerSection.parse({ bacthSize: 8 })).toThrow();
  });
});
