import cliProgress from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { defaultResultsDir } from '../../../bench/paths.ts';

/** Shared flag parsers and helpers of the `prism bench` subcommands written for the Benchmarks issue. */

export function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** scorer.maxBatchMemoryMB as a flag: `auto` or MiB. */
export function memoryCapMB(v: string): number | 'auto' {
  return v === 'auto' ? 'auto' : positiveInt(v);
}

export function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function intList(v: string): number[] {
  return v.split(',').map((s) => positiveInt(s.trim()));
}

export function listOf<T extends string>(choices: readonly T[]): (v: string) => T[] {
  return (v) =>
    v.split(',').map((s) => {
      const t = s.trim();
      if (!(choices as readonly string[]).includes(t))
        throw new InvalidArgumentError(`unknown value ${t}; use ${choices.join(', ')}`);
      return t as T;
    });
}

export function resultsDir(flag: string | undefined): string {
  return flag === undefined ? defaultResultsDir() : resolve(flag);
}

/** A cli-progress bar on stderr when it is a terminal; undefined otherwise (logs carry progress then). */
export function progressBar(format: string): cliProgress.SingleBar | undefined {
  return process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
}
