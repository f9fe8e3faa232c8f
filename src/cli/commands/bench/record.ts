import { startMeta } from '../../../bench/machine.ts';
import { backendsHeadline } from '../../../bench/report/backends-table.ts';
import { writeResult } from '../../../bench/results.ts';
import type { ScorerBenchResult } from '../../../scorer-host/bench.ts';
import { resultsDir } from './common.ts';

/** `prism bench scorer --record`: saves the run as bench/results/scorer-backends.json for `bench report`. */
export interface RecordFlags {
  record?: boolean;
  quick?: boolean;
  results?: string;
  reps: number;
  model?: string;
  preset?: string;
  arch: string;
}

/** Starts the run's meta record (load average before) when --record is given; call before measuring. */
export function startRecord(
  flags: RecordFlags,
): ((results: ScorerBenchResult[]) => Promise<string>) | undefined {
  if (flags.record !== true) return undefined;
  const meta = startMeta({ quick: flags.quick === true });
  return async (results) => {
    const { backendsResult } = await import('../../../bench/scorer-backends.ts');
    const source =
      flags.model !== undefined
        ? `model ${flags.model}`
        : `preset ${flags.preset ?? '?'} (${flags.arch}, seed 0)`;
    const result = backendsResult({ meta: meta.finish(), source, reps: flags.reps, results });
    const path = await writeResult(resultsDir(flags.results), result);
    return `tensorflow ${backendsHeadline(result)} · load ${result.meta.loadStart.join('/')} → ${result.meta.loadEnd.join('/')}\nwrote ${path}\n`;
  };
}
