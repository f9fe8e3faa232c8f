import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../../bench/paths.ts';
import { resultsDir } from './common.ts';

export function registerReport(bench: Command): void {
  bench
    .command('report')
    .description('regenerate BENCHMARKS.md and its PNG figures from bench/results/*.json')
    .option('--results <dir>', 'results folder (default bench/results)')
    .option('--out <file>', 'markdown file to write (default BENCHMARKS.md at the repository root)')
    .option('--plots <dir>', 'PNG folder (default <results>/plots)')
    .option('--no-figures', 'tables only')
    .action(async (flags: { results?: string; out?: string; plots?: string; figures: boolean }) => {
      const out = flags.out === undefined ? join(repoRoot(), 'BENCHMARKS.md') : resolve(flags.out);
      // vega + resvg load only for this command.
      const [{ generateReport }, { log }] = await Promise.all([
        import('../../../bench/report/report.ts'),
        import('../../../log.ts'),
      ]);
      const r = await generateReport({
        resultsDir: resultsDir(flags.results),
        out,
        plotsDir: flags.plots === undefined ? undefined : resolve(flags.plots),
        plots: flags.figures,
        logger: log,
      });
      process.stdout.write(
        `wrote ${r.path} (${r.included.join(', ')}) and ${r.figures.length} figure(s)${r.figures.length > 0 ? `: ${r.figures.join(', ')}` : ''}\n`,
      );
    });
}
