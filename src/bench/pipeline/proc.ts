import { readFileSync } from 'node:fs';

/** Memory of a live process from /proc/<pid>/status (Linux). */
export interface ProcMemory {
  /** Resident set now (VmRSS), bytes. */
  rssBytes: number;
  /** Peak resident set since start (VmHWM), bytes. */
  hwmBytes: number;
}

/** Parses the VmRSS / VmHWM lines (kB) of a /proc/<pid>/status text; undefined if either is missing. */
export function parseProcStatus(text: string): ProcMemory | undefined {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m === null ? undefined : Number(m[1]) * 1024;
  };
  const rss = kb('VmRSS');
  const hwm = kb('VmHWM');
  return rss === undefined || hwm === undefined ? undefined : { rssBytes: rss, hwmBytes: hwm };
}

/** Memory of `pid`, or undefined when it has exited (or /proc is absent). */
export function procMemory(pid: number): ProcMemory | undefined {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return undefined;
  }
}
