/**
 * Stage side of the GPU check (`scripts/gpu/stage` runs it with tsx, here, on the CPU): scores the
 * agreement workload with the PRODUCT scorer (PrismScorer, both paths, norms emitted) and with the
 * asynchronous driver the GPU side uses (norms-async.ts), checks the two agree within 1e-4, and writes
 * both as the reference the GPU scores are compared with.
 *
 *   tsx src/backend/gpucheck/reference.ts --out FILE
 */
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { selectBackend } from '../select.ts';
import { initModel } from '../../model/index.ts';
import {
  AGREEMENT,
  AGREEMENT_TOLERANCE,
  driverScores,
  productDriverScores,
  type ReferenceFile,
} from './agreement.ts';
import { maxRelErrors } from './workload.ts';

const logger = pino({ level: 'warn' }, process.stderr);

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  if (i < 0 || process.argv[i + 1] === undefined) throw new Error('usage: reference.ts --out FILE');
  const out = process.argv[i + 1];
  const backend = await selectBackend('auto', { logger });
  const file: ReferenceFile = { backend: backend.kind, tolerance: AGREEMENT_TOLERANCE, models: [] };
  for (const a of AGREEMENT) {
    const model = initModel({ preset: a.preset, arch: a.arch, seed: a.seed });
    try {
      const { batched, perTrajectory: perTraj } = await productDriverScores(model, a, logger);
      const driver = await driverScores(model, a);
      const selfCheck = {
        batched: maxRelErrors(driver.batched, batched),
        perTrajectory: maxRelErrors(driver.perTrajectory, perTraj),
      };
      const worst = Math.max(...Object.values(selfCheck).flatMap((e) => Object.values(e)));
      if (!(worst < AGREEMENT_TOLERANCE))
        throw new Error(`${a.name}: async driver disagrees with PrismScorer (max rel err ${worst})`);
      file.models.push({
        ...a,
        parameters: model.parameterCount(),
        batched,
        perTrajectory: perTraj,
        selfCheck,
      });
      console.log(
        `${a.name}: reference on ${backend.kind}, driver vs PrismScorer max rel err ${worst.toExponential(1)}`,
      );
    } finally {
      model.dispose();
    }
  }
  await writeFile(out, JSON.stringify(file));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
