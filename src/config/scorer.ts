import { z } from 'zod';
import { BACKEND_CHOICES } from '../backend/choices.ts';
import { METRICS, NORM_METHODS, SCORER_PATHS } from './scorer-choices.ts';

export { METRICS, NORM_METHODS, SCORER_PATHS, type ScorerPathSetting } from './scorer-choices.ts';

export const scorerSection = z
  .object({
    /** Probe model folder (Hugging Face layout: config.json + *.safetensors). */
    modelDir: z.string().min(1).optional(),
    /** Recorded in every score; defaults to the folder name and the weights' sha256 prefix. */
    probeModelId: z.string().min(1).optional(),
    probeModelVersion: z.string().min(1).optional(),
    /** tfjs backend: auto = tensorflow-gpu → tensorflow → wasm → cpu, first that works. */
    backend: z.enum(BACKEND_CHOICES).default('auto'),
    /** auto = time both paths on the first micro-batch with ≥2 scorable records and keep the faster. */
    path: z.enum(SCORER_PATHS).default('auto'),
    /** Batched path only: per-matrix norm formula; auto = fewer FLOPs (ghost iff T·(in+out) < in·out). */
    normMethod: z.enum(NORM_METHODS).default('auto'),
    /** Trajectories per forward/backward on the batched path. */
    batchSize: z.number().int().positive().max(1024).default(16),
    /**
     * Cap on the estimated activation memory of one forward/backward (src/scorer/memory.ts), in MiB:
     * micro-batches of long trajectories are cut smaller. Matters most on wasm, whose wasm32 heap
     * overflow aborts the module; the estimate is 2–3× below real use, hence the modest default.
     */
    maxBatchMemoryMB: z.number().positive().default(512),
    /**
     * Cap on the padded tokens (rows × longest row) of one forward/backward: micro-batches of long
     * trajectories are cut smaller. Default = batchSize × maxSeqLen at the defaults (16 × 1024).
     */
    maxBatchTokens: z.number().int().positive().default(16_384),
    /**
     * `prism run` only: `worker` (default) runs the tfjs scorer in a worker thread holding the model, so
     * the main event loop (heartbeats, commits, /metrics, /readyz) never waits behind a matmul;
     * `main` runs it on the main thread (probe.mode follow always does).
     */
    thread: z.enum(['worker', 'main']).default('worker'),
    /** Tokens per trajectory; longer ones are truncated (scores carry truncated=true). */
    maxSeqLen: z.number().int().positive().max(131072).default(1024),
    /** Put the 7L norm vector into each score (large; off by default). */
    emitNorms: z.boolean().default(false),
    metric: z.enum(METRICS).default('gini'),
  })
  .strict();

export type ScorerConfig = z.infer<typeof scorerSection>;
