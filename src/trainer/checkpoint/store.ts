import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../log.ts';
import { CheckpointError, TrainerReason } from '../errors.ts';
import type { PartitionOffsets } from '../offsets.ts';
import { fsyncPath, fsyncTree } from './fsutil.ts';
import {
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  TRAINER_STATE_DIR,
  manifestSchema,
  stepFolderName,
  versionOf,
  type CheckpointManifest,
} from './manifest.ts';
import { weightFiles, weightsSha256 } from './sha.ts';

const STEP_DIR = /^step-(\d{9,})$/;
const TMP_PREFIX = '.tmp-';

export interface CheckpointRef {
  path: string;
  manifest: CheckpointManifest;
}

export interface WriteRequest {
  step: number;
  trainer: 'sft' | 'rl';
  consumerGroup: string;
  parent: string | null;
  offsets: PartitionOffsets[];
  state: Record<string, unknown>;
  metrics: Record<string, number>;
  optimizerStep: number;
  /** Writes the HF model files (config.json, *.safetensors) into the given folder. */
  writeWeights: (dir: string) => Promise<void>;
  /** Writes the optimizer state into the given folder; returns the file name it wrote. */
  writeOptimizer: (dir: string) => Promise<string>;
}

async function fileSha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Reads and validates a checkpoint's manifest. */
export async function readManifest(dir: string): Promise<CheckpointManifest> {
  const path = join(dir, MANIFEST_FILE);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    throw new CheckpointError(
      TrainerReason.CHECKPOINT_INVALID,
      `checkpoint ${dir} has no readable ${MANIFEST_FILE}`,
      {
        cause: err,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new CheckpointError(
      TrainerReason.CHECKPOINT_INVALID,
      `checkpoint ${dir}: ${MANIFEST_FILE} is not JSON`,
      {
        cause: err,
      },
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new CheckpointError(
      TrainerReason.CHECKPOINT_INVALID,
      `checkpoint ${dir}: ${MANIFEST_FILE} is malformed at ${first.path.join('.') || '(root)'}: ${first.message}`,
    );
  }
  return parsed.data;
}

/**
 * Recomputes the sha256 over a checkpoint folder's weight files and compares it with `expected`
 * (the manifest's, or a ModelUpdate's). Throws CHECKPOINT_SHA_MISMATCH on any difference,
 * including added or missing weight files.
 */
export async function verifyCheckpoint(dir: string, expected: string): Promise<string> {
  let actual: string;
  try {
    actual = await weightsSha256(dir);
  } catch (err) {
    throw new CheckpointError(
      TrainerReason.CHECKPOINT_INVALID,
      `checkpoint ${dir}: weight files unreadable`,
      { cause: err },
    );
  }
  if (actual !== expected) {
    throw new CheckpointError(
      TrainerReason.CHECKPOINT_SHA_MISMATCH,
      `checkpoint ${dir}: sha256 over weight files is ${actual}, expected ${expected}; refusing to load it (corrupted or modified after publication)`,
    );
  }
  return actual;
}

/**
 * The checkpoints of one model id: <root>/<modelId>/step-NNNNNNNNN/. Writes go to a temp folder
 * in the same directory and are renamed into place only when complete and fsynced, so a folder
 * named step-* is always whole.
 */
export class CheckpointStore {
  readonly dir: string;
  private lockPath: string;
  private locked = false;

  constructor(
    root: string,
    readonly modelId: string,
    private readonly log?: Logger,
  ) {
    this.dir = resolve(root, modelId);
    this.lockPath = join(this.dir, '.lock');
  }

  /** Claims the folder for this process; a lock left by a dead process (kill -9) is taken over. */
  lock(): void {
    mkdirSync(this.dir, { recursive: true });
    if (existsSync(this.lockPath)) {
      const pid = Number(readFileSync(this.lockPath, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new CheckpointError(
          TrainerReason.CHECKPOINT_LOCKED,
          `checkpoint folder ${this.dir} is in use by process ${pid}; run one trainer per model id`,
        );
      }
      this.log?.warn({ dir: this.dir, stalePid: pid }, 'taking over a stale checkpoint lock');
    }
    writeFileSync(this.lockPath, `${process.pid}\n`);
    this.locked = true;
  }

  unlock(): void {
    if (!this.locked) return;
    try {
      unlinkSync(this.lockPath);
    } catch {
      // already gone
    }
    this.locked = false;
  }

  /** Removes temp folders left by a crash mid-write. */
  async cleanTemp(): Promise<void> {
    if (!existsSync(this.dir)) return;
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TMP_PREFIX)) await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }

  /** Completed checkpoint folders, newest first. */
  async list(): Promise<{ step: number; path: string }[]> {
    if (!existsSync(this.dir)) return [];
    const out: { step: number; path: string }[] = [];
    for (const name of await readdir(this.dir)) {
      const m = STEP_DIR.exec(name);
      if (m) out.push({ step: Number(m[1]), path: join(this.dir, name) });
    }
    return out.sort((a, b) => b.step - a.step);
  }

  /**
   * The newest checkpoint whose manifest is valid (and, with verify, whose weights match its
   * sha256). Broken ones are skipped with a warning, never deleted.
   */
  async latest(opts: { verify: boolean } = { verify: true }): Promise<CheckpointRef | undefined> {
    for (const { path } of await this.list()) {
      try {
        const manifest = await readManifest(path);
        if (manifest.modelId !== this.modelId) {
          throw new CheckpointError(
            TrainerReason.CHECKPOINT_INVALID,
            `checkpoint ${path} belongs to model id ${manifest.modelId}, not ${this.modelId}`,
          );
        }
        if (opts.verify) {
          await verifyCheckpoint(path, manifest.sha256);
          const opt = join(path, manifest.optimizer.file);
          if ((await fileSha256(opt)) !== manifest.optimizer.sha256) {
            throw new CheckpointError(
              TrainerReason.CHECKPOINT_SHA_MISMATCH,
              `checkpoint ${path}: optimizer state sha256 mismatch`,
            );
          }
        }
        return { path, manifest };
      } catch (err) {
        this.log?.warn({ path, err }, 'skipping unusable checkpoint');
      }
    }
    return undefined;
  }

  /** Writes a checkpoint atomically (temp folder → fsync → rename) and returns it. */
  async write(req: WriteRequest): Promise<CheckpointRef> {
    await mkdir(this.dir, { recursive: true });
    const final = join(this.dir, stepFolderName(req.step));
    if (existsSync(final)) {
      throw new CheckpointError(
        TrainerReason.CHECKPOINT_INVALID,
        `checkpoint ${final} already exists; refusing to overwrite`,
      );
    }
    const tmp = join(
      this.dir,
      `${TMP_PREFIX}${stepFolderName(req.step)}-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    await mkdir(join(tmp, TRAINER_STATE_DIR), { recursive: true });
    try {
      await req.writeWeights(tmp);
      const optName = await req.writeOptimizer(join(tmp, TRAINER_STATE_DIR));
      const optFile = join(TRAINER_STATE_DIR, optName);
      const files = await weightFiles(tmp);
      if (files.length === 0) {
        throw new CheckpointError(
          TrainerReason.CHECKPOINT_INVALID,
          `model writer produced no *.safetensors in ${tmp}`,
        );
      }
      const sha256 = await weightsSha256(tmp, files);
      const manifest: CheckpointManifest = {
        format: MANIFEST_FORMAT,
        modelId: this.modelId,
        version: versionOf(req.step, sha256),
        step: req.step,
        trainer: req.trainer,
        createdAt: Date.now(),
        sha256,
        weightFiles: files,
        offsets: req.offsets,
        consumerGroup: req.consumerGroup,
        parent: req.parent,
        optimizer: { file: optFile, sha256: await fileSha256(join(tmp, optFile)), step: req.optimizerStep },
        state: req.state,
        metrics: req.metrics,
      };
      await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      await fsyncTree(tmp);
      await rename(tmp, final);
      await fsyncPath(this.dir);
      return { path: final, manifest };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Deletes all but the newest `keep` checkpoints (keep ≥ 1). */
  async prune(keep: number): Promise<string[]> {
    const removed: string[] = [];
    for (const { path } of (await this.list()).slice(Math.max(1, keep))) {
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    return removed;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** file:// URI or plain path → absolute path. */
export function checkpointPathOf(uri: string): string {
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  return isAbsolute(uri) ? uri : resolve(uri);
}
