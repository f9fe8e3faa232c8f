import type { Command } from 'commander';
import { startMeta } from '../../../bench/machine.ts';
import { soakTable } from '../../../bench/report/soak-table.ts';
import { writeResult } from '../../../bench/results.ts';
import { positiveInt, positiveNumber, progressBar, resultsDir } from './common.ts';

interface SoakFlags {
  minutes?: number;
  rate?: number;
  load: number;
  warmupRecords: number;
  capacityRecords: number;
  intervalSeconds?: number;
  partitions: number;
  seq: number;
  brokers?: string;
  stallSeconds: number;
  quick?: boolean;
  results?: string;
}

export function registerSoak(bench: Command): void {
  bench
    .command('soak')
    .description(
      'stream through prism run (tiny model) for --minutes while sampling RSS and live tfjs tensors; writes bench/results/soak.json',
    )
    .option('--minutes <m>', 'paced streaming time (default 30; --quick 2)', positiveNumber)
    .option(
      '--rate <r>',
      'input records/s (default: --load × the rate measured on the warm-up backlog)',
      positiveNumber,
    )
    .option('--load <f>', 'fraction of the measured capacity to stream at', positiveNumber, 0.5)
    .option(
      '--warmup-records <n>',
      'records through the new process first (arbitration window, scorer path calibration)',
      positiveInt,
      512,
    )
    .option(
      '--capacity-records <n>',
      'backlog drained to measure capacity (without --rate)',
      positiveInt,
      400,
    )
    .option('--interval-seconds <s>', 'sampling interval (default 10; --quick 2)', positiveNumber)
    .option('--partitions <n>', 'input/output partitions', positiveInt, 2)
    .option('--seq <t>', 'scored positions per trajectory', positiveInt, 128)
    .option('--brokers <list>', 'use this broker instead of starting a private one')
    .option('--stall-seconds <s>', 'fail when no output arrives for this long', positiveNumber, 180)
    .option('--quick', 'a 2-minute run for checking the tooling (writes soak.quick.json)')
    .option('--results <dir>', 'results folder (default bench/results)')
    .action(async (flags: SoakFlags) => {
      const quick = flags.quick === true;
      const minutes = flags.minutes ?? (quick ? 2 : 30);
      const interval = flags.intervalSeconds ?? (quick ? 2 : 10);
      const bar = progressBar('soak [{bar}] {value}/{total} s · RSS {rss} MiB · tensors {tensors}');
      bar?.start(Math.round(minutes * 60), 0, { rss: '?', tensors: '?' });
      const brokers = flags.brokers
        ?.split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const [{ runSoak }, { log }] = await Promise.all([
        import('../../../bench/soak.ts'),
        import('../../../log.ts'),
      ]);
      const result = await runSoak({
        brokers: brokers !== undefined && brokers.length > 0 ? brokers : undefined,
        minutes,
        rate: flags.rate,
        load: flags.load,
        warmupRecords: flags.warmupRecords,
        capacityRecords: flags.capacityRecords,
        intervalSeconds: interval,
        partitions: flags.partitions,
        seq: flags.seq,
        stallMs: flags.stallSeconds * 1000,
        logger: log,
        meta: startMeta({ quick }),
        onTick: (t, _total, s) =>
          bar?.update(Math.min(Math.round(t), Math.round(minutes * 60)), {
            rss: (s.rssBytes / 2 ** 20).toFixed(0),
            tensors: String(s.tensors ?? '?'),
          }),
      }).finally(() => bar?.stop());
      const path = await writeResult(resultsDir(flags.results), result);
      process.stdout.write(
        `load ${result.meta.loadStart.join('/')} → ${result.meta.loadEnd.join('/')}\n\n${soakTable(result)}\n\nwrote ${path}\n`,
      );
    });
}
