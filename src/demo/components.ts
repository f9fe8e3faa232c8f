import type { Kafka } from 'kafkajs';
import { startPipeline, type PipelineHandle } from '../../streams/app.ts';
import type { PrismConfig } from '../config/schema.ts';
import { LiveCollector } from '../dashboard/index.ts';
import type { Logger } from '../log.ts';
import { startTrainer, type TrainerHandle } from '../trainer/run.ts';
import type { TrainerKind } from '../trainer/types.ts';
import type { Guard, Teardown } from './lifecycle.ts';
import { OutputTap } from './tap.ts';

/** What a trainer did so far, from its step events. */
export interface TrainerProgress {
  steps: number;
  records: number;
  loss: number | null;
}

export interface Components {
  readonly trainers: Partial<Record<TrainerKind, TrainerHandle>>;
  readonly progress: Record<TrainerKind, TrainerProgress>;
  readonly pipeline: PipelineHandle;
  readonly collector: LiveCollector;
  readonly tap: OutputTap;
  readonly dashboardUrl: string | null;
}

export interface ComponentDeps {
  readonly config: PrismConfig;
  readonly kafka: Kafka;
  readonly log: Logger;
  readonly teardown: Teardown;
  readonly guard: Guard;
}

/**
 * Starts, in this process and with the same code as `prism train` and `prism run`: the SFT and RL
 * trainers (from the warm-started model), the arbitrator with its live dashboard, and the output
 * reader. Each is registered for teardown before its start is awaited; failures end the demo.
 */
export async function startComponents(d: ComponentDeps): Promise<Components> {
  const { config, log, teardown, guard } = d;
  const progress: Record<TrainerKind, TrainerProgress> = {
    sft: { steps: 0, records: 0, loss: null },
    rl: { steps: 0, records: 0, loss: null },
  };
  const trainers: Partial<Record<TrainerKind, TrainerHandle>> = {};
  // Trainers first: their step listeners are attached before the first record can reach them.
  for (const kind of ['sft', 'rl'] as const) {
    const starting = startTrainer(kind, config, { log, backend: 'keep' });
    teardown.add(1, `${kind.toUpperCase()} trainer`, async () =>
      (await starting.catch(() => undefined))?.stop(),
    );
    const h = await starting;
    trainers[kind] = h;
    h.loop.onStep((s) => {
      log.info({ trainer: kind, ...s }, 'demo: trainer step');
      progress[kind].steps = s.step;
      progress[kind].records += s.records;
      progress[kind].loss = s.loss;
    });
    guard.watch(`the ${kind.toUpperCase()} trainer`, h.done);
  }

  const collector = new LiveCollector({
    metric: config.arbitration.metric,
    title: 'prism demo: live routing',
  });
  const startingPipeline = startPipeline(config, {
    log: log.child({ component: 'run' }),
    dashboard: collector,
  });
  teardown.add(2, 'arbitrator', async () =>
    (await startingPipeline.catch(() => undefined))?.stop('demo finished'),
  );
  const pipeline = await startingPipeline;
  guard.watch('the arbitrator', pipeline.done);

  const startingTap = OutputTap.start(d.kafka, config.topics, log);
  teardown.add(3, 'output reader', async () => {
    const tap = await startingTap.catch(() => undefined);
    if (tap === undefined) return;
    // The trainers wrote a last checkpoint and ModelUpdate while stopping: let those arrive first.
    const finalVersions = Object.values(trainers)
      .map((h) => h?.loop.latestCheckpoint?.manifest.version)
      .filter((v): v is string => v !== undefined);
    await tap.waitForVersions(finalVersions, 5000);
    await tap.stop();
  });
  const tap = await startingTap;
  const dashboardUrl = pipeline.http ? `http://127.0.0.1:${pipeline.http.port}/dashboard/` : null;
  return { trainers, progress, pipeline, collector, tap, dashboardUrl };
}
