import { InvalidArgumentError } from 'commander';
import type { ConfigOverride } from '../config/load.ts';

/** commander collector for a repeatable `--set key=value`. */
export function collectSet(value: string, previous: string[]): string[] {
  if (!value.includes('=')) throw new InvalidArgumentError('expected key=value, e.g. topics.sft=my.sft');
  return [...previous, value];
}

/** `--set key=value` entries as config overrides (flags win over the file and PRISM_* variables). */
export function setOverrides(entries: readonly string[]): ConfigOverride[] {
  return entries.map((kv) => {
    const i = kv.indexOf('=');
    return { path: kv.slice(0, i).trim(), value: kv.slice(i + 1), source: `flag --set ${kv}` };
  });
}
