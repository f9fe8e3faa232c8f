import { z } from 'zod';
import { BACKEND_CHOICES } from '../backend/choices.ts';
import { METRICS, NORM_METHODS, SCORER_PATHS } from './scorer-choices.ts';

export { METRICS, NORM_METHODS, SCORER_PATHS, type ScorerPathSetting } from './scorer-choices.ts';

/**
 * `scorer.torch`: the PyTorch scorer service (scorer.kind torch; clients/python/prism_stream/scorer_service).
 * Either `prism run` spawns it (spawn: true, on `socket`, or on 127.0.0.1 when `host` is set) or it
 * connects to one that runs elsewhere (spawn: false: `socket`, or `host` + `port`).
 */
export const torchScorerSection = z
  .object({
    /** Start the service as a child process (and restart it if it dies). */
    spawn: z.boolean().default(true),
    /** Unix domain socket; default with spawn: a fresh path in the OS temp dir. */
    socket: z.string().min(1).optional(),
    /** TCP instead of a Unix socket: a named host (spawn: false) or 127.0.0.1. */
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).default(0),
    /** Python interpreter with torch and transformers (spawn: true). */
    python: z.string().min(1).default('python3'),
    /** auto = cuda when available, else cpu. */
    device: z.string().min(1).default('auto'),
    /** auto = bf16 on a GPU, fp32 on the CPU. */
    dtype: z.enum(['auto', 'fp32', 'tf32', 'bf16']).default('auto'),
    /** CPU threads of the service's torch (0 = torch's default: one per core). */
    threads: z.number().int().min(0).default(0),
    /** Spawned service: time to load the model and print its ready line. */
    startupTimeoutMs: z.number().int().positive().default(120_000),
    /** How long a micro-batch waits for the service to come back (respawn/reconnect) before it fails. */
    unavailablePatienceMs: z.number().int().positive().default(120_000),
    /** Reconnect/respawn backoff: first delay, doubled up to the max. */
    backoffInitialMs: z.number().int().positive().default(250),
    backoffMaxMs: z.number().int().positive().default(10_000),
  })
  .strict();

export type TorchScorerConfig = z.infer<typeof torchScorerSection>;

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
     * Cap on the estimated working memory of one scorer pass (src/scorer/memory.ts, within ±30 % of
     * the measured peak on the native backend), in MiB, on top of the weights: micro-batches of long
     * trajectories are cut smaller. `auto` (default): the weights' size plus two trajectories' activations
     * at the pass's length — the room PyTorch's paper loop spends on its weight gradient — so the peak stays
     * near the loop's. wasm's wasm32 heap overflow aborts the module, so stay well below 4 GiB there.
     */
    maxBatchMemoryMB: z.union([z.literal('auto'), z.number().positive()]).default('auto'),
    /**
     * Cap on the padded tokens (rows × longest row) of one forward/backward: micro-batches of long
     * trajectories are cut smaller. Default = batchSize × maxSeqLen at the defaults (16 × 1024).
     */
    maxBatchTokens: z.number().int().positive().default(16_384),
    /**
     * `prism run` (also probe.mode follow) and `prism score`: `worker` (default) runs the tfjs scorer in a
     * worker thread holding the model, so the main event loop (heartbeats, commits, /metrics, /readyz)
     * never waits behind a matmul; `main` runs it on the main thread.
     */
    thread: z.enum(['worker', 'main']).default('worker'),
    /** Tokens per trajectory; longer ones are truncated (scores carry truncated=true). */
    maxSeqLen: z.number().int().positive().max(131072).default(1024),
    /** Put the 7L norm vector into each score (large; off by default). */
    emitNorms: z.boolean().default(false),
    metric: z.enum(METRICS).default('gini'),
    /** scorer.kind torch: the PyTorch service (see torchScorerSection). */
    torch: torchScorerSection.prefault({}),
  })
  .strict();

export type ScorerConfig = z.infer<typeof scorerSection>;

/** scorer.maxBatchMemoryMB in the scorer's unit: bytes, or `auto` (src/scorer/memory.ts autoBatchBudgetBytes). */
export function maxBatchBytesOf(mb: number | 'auto'): number | 'auto' {
  return mb === 'auto' ? 'auto' : mb * 2 ** 20;
}
