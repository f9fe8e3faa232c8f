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
import { PrismScorer } from '../../scorer/index.ts';
import type { ScorerPath } from '../../scorer/path.ts';
import { AGREEMENT, AGREEMENT_TOLERANCE, driverScores, type ReferenceFile } from './agreement.ts';
import { maxRelErrors, scoredRow, checkTrajectories, type ScoredRow } from './workload.ts';

const logger = pino({ level: 'warn' }, process.stderr);

async function productScores(
  model: ReturnType<typeof initModel>,
  path: ScorerPath,
  batch: number,
  seq: number,
  seed: number,
): Promise<ScoredRow[]> {
  const scorer = new PrismScorer({
    model,
    tokenizer: null,
    probeModelId: 'gpu-check',
    probeModelVersion: 'v0',
    backend: 'reference',
    maxSeqLen: seq + 1,
    batchSize: batch,
    emitNorms: true,
    path,
    ownsModel: false,
    logger,
  });
  try {
    const out = await scorer.scoreBatch(checkTrajectories(batch, seq, model.config.vocab_size, seed));
    return out.map((o) => {
      if (!o.ok) throw new Error(`${path}: ${o.error.code} ${o.error.message}`);
      return scoredRow(o.scores.norms ?? [], o.scores.loss);
    });
  } finally {
    scorer.dispose();
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  if (i < 0 || process.argv[i + 1] === undefined) throw new Error('usage: reference.ts --out FILE');
  const out = process.argv[i + 1];
  const backend = await selectBackend('auto', { logger });
  const file: ReferenceFile = { backend: backend.kind, tolerance: AGREEMENT_TOLERANCE, models: [] };
  for (const a of AGREEMENT) {
    const model = initModel({ preset: a.preset, arch: a.arch, seed: a.seed });
    try {
      const batched = await productScores(model, 'batched', a.batch, a.seq, a.trajSeed);
      const perTraj = await productScores(model, 'per-trajectory', a.batch, a.seq, a.trajSeed);
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
