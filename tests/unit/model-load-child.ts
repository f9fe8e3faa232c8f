// Child process of model-load-memory.test.ts: writes a random model folder, loads it with loadModel on
// the native backend and prints, as JSON, the weights' bytes and the JS ArrayBuffer bytes still held
// after loading (a weight held twice, as JS values and as a TensorFlow tensor, shows up there).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { selectBackend } from '../../src/backend/index.ts';
import { presetConfig } from '../../src/model/config.ts';
import { randomWeights } from '../../src/model/init.ts';
import { loadModel } from '../../src/model-store/llama.ts';
import { writeModelFolder } from '../../src/model-store/folder.ts';
import { collectGarbage } from '../../src/model-store/collect-garbage.ts';
import { modelWeightBytes } from '../../src/scorer/memory.ts';

await selectBackend('tensorflow', { logger: pino({ level: 'silent' }) });
const dir = await mkdtemp(join(tmpdir(), 'prism-load-'));
try {
  const config = presetConfig('small', 'qwen2', 32_000);
  await writeModelFolder(dir, config, randomWeights(config, 0));
  const model = await loadModel(dir);
  // Anything JS still holds survives every collection; what is garbage V8 frees after a collection, on a
  // background thread, which on a busy machine can take more than one 200 ms wait (CI once saw 37 MB left
  // after two). So: collect and wait until the figure drops under 1 % of the weights, at most 20 rounds, and
  // report the lowest seen. A weight held twice keeps it above the weights' size in every round.
  const weightBytes = modelWeightBytes(config);
  let arrayBuffers = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 20 && arrayBuffers >= 0.01 * weightBytes; i++) {
    collectGarbage();
    await new Promise((r) => setTimeout(r, 200));
    arrayBuffers = Math.min(arrayBuffers, process.memoryUsage().arrayBuffers);
  }
  // The loaded model still computes (its weights really are in TensorFlow).
  const finite = tf.tidy(
    () =>
      model
        .forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'))
        .logits.isFinite()
        .all()
        .dataSync()[0],
  );
  process.stdout.write(`${JSON.stringify({ weightBytes, arrayBuffers, finite })}\n`);
  model.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}
