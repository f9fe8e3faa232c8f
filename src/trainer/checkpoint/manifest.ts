import { z } from 'zod';

export const MANIFEST_FILE = 'prism-manifest.json';
export const MANIFEST_FORMAT = 'prism-checkpoint/1';
/** Trainer-only state lives in a sub-folder so the top level stays a plain HF model folder. */
export const TRAINER_STATE_DIR = 'trainer_state';

const partitionOffsets = z
  .object({
    topic: z.string().min(1),
    partition: z.number().int().nonnegative(),
    offset: z.string().regex(/^\d+$/),
    doneAbove: z.array(z.string().regex(/^\d+$/)),
  })
  .strict();

export const manifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    modelId: z.string().min(1),
    version: z.string().min(1),
    step: z.number().int().nonnegative(),
    trainer: z.enum(['sft', 'rl']),
    createdAt: z.number().int(),
    /** See weightsSha256 for the exact definition. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    weightFiles: z.array(z.string().min(1)).min(1),
    /** Offsets of the input topic: resume seeks to `offset`, skips `doneAbove`. */
    offsets: z.array(partitionOffsets),
    consumerGroup: z.string().min(1),
    /** Where this lineage started: a model folder, or the checkpoint it resumed from. */
    parent: z.string().nullable(),
    optimizer: z
      .object({ file: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), step: z.number().int() })
      .strict(),
    /** Small JSON trainer state (running baseline, counters). */
    state: z.record(z.string(), z.unknown()),
    metrics: z.record(z.string(), z.number()),
  })
  .strict();

export type CheckpointManifest = z.infer<typeof manifestSchema>;

/** Version string of a checkpoint: step plus a digest prefix, e.g. "120-3fa2b1c0". */
export function versionOf(step: number, sha256: string): string {
  return `${step}-${sha256.slice(0, 8)}`;
}

export function stepFolderName(step: number): string {
  return `step-${String(step).padStart(9, '0')}`;
}
