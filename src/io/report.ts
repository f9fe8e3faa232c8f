import { errorMessage, PrismError } from '../errors.ts';
import { fileFormatOf } from './files.ts';

const MAX_PRINTED = 100;

/**
 * Collects per-record problems of an input file and prints them on stderr as
 * `<file>:<line>: CODE message` (JSONL) or `<file> record <n>: …` (Avro), the first 100 only.
 */
export function reportInvalid(path: string): {
  add(position: number, err: unknown): void;
  readonly count: number;
  summary(): string;
} {
  const where =
    fileFormatOf(path) === 'jsonl' ? (n: number) => `${path}:${n}` : (n: number) => `${path} record ${n}`;
  let count = 0;
  return {
    add(position, err) {
      count++;
      if (count <= MAX_PRINTED) {
        const code = err instanceof PrismError ? err.code : 'UNEXPECTED_ERROR';
        process.stderr.write(`${where(position)}: ${code} ${errorMessage(err)}\n`);
      } else if (count === MAX_PRINTED + 1) {
        process.stderr.write(`... more invalid records not shown\n`);
      }
    },
    get count() {
      return count;
    },
    summary() {
      return count === 0
        ? ''
        : `; ${count} invalid ${fileFormatOf(path) === 'jsonl' ? 'lines' : 'records'} skipped (listed on stderr)`;
    },
  };
}
