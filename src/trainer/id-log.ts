import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Optional audit log of trained records (JSONL). A line per trained record, written when the
 * optimizer step that used it is applied, and a `start` line per process start naming the step the
 * new lineage resumed from. Entries of a dead lineage (step > resumed step) are superseded by the
 * start line: `readIdLog` applies that rule, so its result is the surviving lineage.
 */

export interface IdLogEntry {
  id: string;
  step: number;
  topic: string;
  partition: number;
  offset: string;
}

export interface IdLogStart {
  event: 'start';
  fromStep: number;
  fromVersion: string | null;
  pid: number;
  at: number;
}

export class IdLog {
  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  start(fromStep: number, fromVersion: string | null): void {
    const line: IdLogStart = { event: 'start', fromStep, fromVersion, pid: process.pid, at: Date.now() };
    this.write([line]);
  }

  /** Appends synchronously: entries of step S are on disk before a checkpoint of step S is written. */
  trained(entries: readonly IdLogEntry[]): void {
    if (entries.length > 0) this.write(entries);
  }

  private write(lines: readonly object[]): void {
    appendFileSync(this.path, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }
}

export interface IdLogReading {
  /** Trained records of the surviving lineage, in log order. */
  entries: IdLogEntry[];
  /** Entries dropped because their lineage died before checkpointing them. */
  superseded: IdLogEntry[];
  starts: IdLogStart[];
}

/** Reads an id log, tolerating a torn last line (the writer may have been killed mid-write). */
export function readIdLog(path: string): IdLogReading {
  if (!existsSync(path)) return { entries: [], superseded: [], starts: [] };
  const lines = readFileSync(path, 'utf8').split('\n');
  let entries: IdLogEntry[] = [];
  const superseded: IdLogEntry[] = [];
  const starts: IdLogStart[] = [];
  for (const [i, raw] of lines.entries()) {
    if (raw.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      if (i >= lines.length - 2) break;
      throw new Error(`id log ${path}: line ${i + 1} is not JSON`, { cause: err });
    }
    const rec = obj as Partial<IdLogStart> & Partial<IdLogEntry>;
    if (rec.event === 'start') {
      const start = rec as IdLogStart;
      starts.push(start);
      const keep: IdLogEntry[] = [];
      for (const e of entries) (e.step <= start.fromStep ? keep : superseded).push(e);
      entries = keep;
    } else {
      entries.push(rec as IdLogEntry);
    }
  }
  return { entries, superseded, starts };
}
