import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchError } from './errors.ts';
import type { RunMeta } from './machine.ts';

/** The benchmarks that write result files; `bench report` knows each. */
export const RESULT_KINDS = ['scorer-sweep', 'pipeline', 'soak', 'torch', 'scorer-backends'] as const;
export type ResultKind = (typeof RESULT_KINDS)[number];

export interface ResultBase<K extends ResultKind> {
  kind: K;
  meta: RunMeta;
}

/** `<kind>.json` for full runs, `<kind>.quick.json` for --quick ones (a quick run never overwrites a full one). */
export function resultFileName(kind: ResultKind, quick: boolean): string {
  return `${kind}${quick ? '.quick' : ''}.json`;
}

/** Writes atomically (temp file + rename) and returns the path. */
export async function writeResult<K extends ResultKind>(dir: string, result: ResultBase<K>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, resultFileName(result.kind, result.meta.quick));
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`);
  await rename(tmp, path);
  return path;
}

/** The newest-preferred result of one kind: the full run if present, else the quick one, else undefined. */
export async function readResult<K extends ResultKind>(
  dir: string,
  kind: K,
): Promise<(ResultBase<K> & Record<string, unknown>) | undefined> {
  for (const quick of [false, true]) {
    const path = join(dir, resultFileName(kind, quick));
    if (!existsSync(path)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new BenchError(
        'RESULTS_INVALID',
        `${path} is not valid JSON: re-run the benchmark that writes it`,
        { cause: err },
      );
    }
    const r = parsed as Partial<ResultBase<K>>;
    if (r.kind !== kind || r.meta?.version !== 1) {
      throw new BenchError(
        'RESULTS_INVALID',
        `${path}: expected kind "${kind}" with meta.version 1, got kind ${JSON.stringify(r.kind)} version ${JSON.stringify(r.meta?.version)}`,
      );
    }
    return parsed as ResultBase<K> & Record<string, unknown>;
  }
  return undefined;
}
