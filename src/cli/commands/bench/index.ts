import type { Command } from 'commander';
import { registerEventLoop } from './eventloop.ts';
import { registerPadding } from './padding.ts';
import { registerPipeline } from './pipeline.ts';
import { registerProfile } from './profile.ts';
import { registerReport } from './report.ts';
import { registerSoak } from './soak.ts';
import { addSweepOptions } from './sweep.ts';
import { registerTorch } from './torch.ts';

/**
 * The Benchmarks issue's additions to `prism bench` (registered from ../bench.ts): `--sweep` on
 * `bench scorer`, and the `pipeline`, `soak`, `torch` and `report` subcommands.
 */
export function registerBenchmarks(bench: Command): void {
  const scorer = bench.commands.find((c) => c.name() === 'scorer');
  if (scorer !== undefined) addSweepOptions(scorer);
  registerPipeline(bench);
  registerSoak(bench);
  registerTorch(bench);
  registerReport(bench);
  registerEventLoop(bench);
  registerPadding(bench);
  registerProfile(bench);
}
