import { afterAll, describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from '../../src/cli/commands/gen.ts';
import { ConfigError } from '../../src/errors.ts';
import { readRecordFile } from '../../src/io/files.ts';
import { DEFAULT_LIMITS } from '../../src/config/input.ts';
import { validateTrajectory } from '../../src/schemas/validate.ts';
import type { Trajectory } from '../../src/schemas/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function gen(...args: string[]): Promise<void> {
  const program = new Command('prism').exitOverride();
  register(program);
  await program.parseAsync(['node', 'prism', 'gen', ...args]);
}

async function readAll(path: string): Promise<Trajectory[]> {
  const out: Trajectory[] = [];
  for await (const r of readRecordFile(path, 'trajectory')) {
    if (!r.ok) throw r.error;
    out.push(validateTrajectory(r.value, DEFAULT_LIMITS));
  }
  return out;
}

describe('prism gen command', () => {
  it('writes the same trajectories to .jsonl and .avro, readable by src/io', async () => {
    const jsonl = join(dir, 'a.jsonl');
    const avro = join(dir, 'a.avro');
    await gen('--n', '24', '--seed', '11', '--conflict-share', '0.5', '--out', jsonl);
    await gen('--n', '24', '--seed', '11', '--conflict-share', '0.5', '--out', avro);
    const fromJsonl = await readAll(jsonl);
    expect(fromJsonl).toHaveLength(24);
    expect(await readAll(avro)).toEqual(fromJsonl);
    expect(readFileSync(jsonl, 'utf8').trimEnd().split('\n')).toHaveLength(24);
  });

  it('is byte-identical across runs with the same seed', async () => {
    const a = join(dir, 'x.jsonl');
    const b = join(dir, 'y.jsonl');
    await gen(
      '--n',
      '30',
      '--seed',
      '3',
      '--families',
      'pick,webshop,teleport',
      '--conflict-share',
      '0.3',
      '--out',
      a,
    );
    await gen(
      '--n',
      '30',
      '--seed',
      '3',
      '--families',
      'pick,webshop,teleport',
      '--conflict-share',
      '0.3',
      '--out',
      b,
    );
    expect(readFileSync(a)).toEqual(readFileSync(b));
  });

  it('fails with a config error, before writing, on an unknown family or a missing --out', async () => {
    const bad = join(dir, 'bad.jsonl');
    await expect(gen('--n', '5', '--families', 'pick,dance', '--out', bad)).rejects.toThrow(ConfigError);
    expect(existsSync(bad)).toBe(false);
    await expect(gen('--n', '5')).rejects.toThrow(/--out/);
  });
});
