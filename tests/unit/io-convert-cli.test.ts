import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const PRISM = fileURLToPath(new URL('../../bin/prism.mjs', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../fixtures/trajectories.sample.jsonl', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'prism-convert-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function prism(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [PRISM, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

describe('prism convert (CLI)', () => {
  it('converts JSONL → Avro → JSONL back to the identical file', async () => {
    const avro = join(dir, 'sample.avro');
    const back = join(dir, 'back.jsonl');
    const a = await prism(['convert', '--in', SAMPLE, '--out', avro]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('converted 20 trajectory records');
    const b = await prism(['convert', '--in', avro, '--out', back]);
    expect(b.code).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe(readFileSync(SAMPLE, 'utf8'));
  });

  it('skips invalid lines, lists them with line number and reason, and exits 1', async () => {
    const lines = readFileSync(SAMPLE, 'utf8').split('\n').slice(0, 3);
    const input = join(dir, 'mixed.jsonl');
    writeFileSync(
      input,
      [lines[0], '{"id":"x","task_id":"t","turns":[],"created_at":0}', 'nope', lines[1], lines[2]].join('\n'),
    );
    const run = await prism(['convert', '--in', input, '--out', join(dir, 'mixed.avro'), '--validate']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${input}:2: NO_ASSISTANT_TURN`);
    expect(run.stderr).toContain(`${input}:3: DECODE_INVALID_JSON`);
    expect(run.stdout).toContain('converted 3 trajectory records');
    expect(run.stdout).toContain('2 invalid lines skipped');
  });

  it('refuses an unknown file extension with exit code 2', async () => {
    const run = await prism(['convert', '--in', SAMPLE, '--out', join(dir, 'x.csv')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('[IO_UNKNOWN_FORMAT]');
  });
});

describe('prism schemas (CLI)', () => {
  it('lists the three record schemas of the bundled registry', async () => {
    const run = await prism(['schemas', 'list', '--json']);
    expect(run.code).toBe(0);
    const list = JSON.parse(run.stdout) as { id: number; subject: string }[];
    expect(list.map((v) => [v.id, v.subject])).toEqual([
      [1, 'ai.prism.Trajectory'],
      [2, 'ai.prism.ScoredTrajectory'],
      [3, 'ai.prism.ModelUpdate'],
    ]);
  });

  it('confirms registry.json is up to date', async () => {
    const run = await prism(['schemas', 'build', '--check']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('up to date');
  });
});
