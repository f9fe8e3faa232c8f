import type { Command } from 'commander';
import { register as registerBench } from './bench.ts';
import { register as registerConsume } from './consume.ts';
import { register as registerConvert } from './convert.ts';
import { register as registerDemo } from './demo.ts';
import { register as registerEval } from './eval.ts';
import { register as registerGen } from './gen.ts';
import { register as registerKafka } from './kafka.ts';
import { register as registerModel } from './model.ts';
import { register as registerProduce } from './produce.ts';
import { register as registerSchemas } from './schemas.ts';
import { register as registerRun } from './run.ts';
import { register as registerScore } from './score.ts';
import { register as registerTopics } from './topics.ts';
import { register as registerTrain } from './train.ts';

/**
 * One file per command group; each exports `register(program)`. Add new groups here.
 */
export function registerCommands(program: Command): void {
  registerBench(program);
  registerConsume(program);
  registerConvert(program);
  registerDemo(program);
  registerEval(program);
  registerGen(program);
  registerKafka(program);
  registerModel(program);
  registerProduce(program);
  registerSchemas(program);
  registerRun(program);
  registerScore(program);
  registerTopics(program);
  registerTrain(program);
}
