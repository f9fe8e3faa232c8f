import { existsSync } from 'node:fs';
import { cp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RlTrainerConfig, SftTrainerConfig } from '../config/trainer.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { LlamaModel } from '../model/llama.ts';
import { loadModel } from '../model-store/llama.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import type { TurnTokenizer } from '../tokenizer/types.ts';
import type { BaselineState } from './advantages.ts';
import { readOptimizerState } from './checkpoint/optimizer-state.ts';
import { CheckpointStore, type CheckpointRef } from './checkpoint/store.ts';
import { CheckpointError, TrainerError, TrainerReason } from './errors.ts';
import type { LoopStart } from './loop.ts';
import { OffsetLedger } from './offsets.ts';
import { AdamW, defaultNoDecay } from './optim/adamw.ts';
import type { TrainerKind } from './types.ts';

export interface BootstrapOptions {
  kind: TrainerKind;
  cfg: SftTrainerConfig | RlTrainerConfig;
  checkpointRoot: string;
  /** Model id of the SFT trainer (rl initFrom: latest-sft). */
  sftModelId: string;
  /** The input topic; manifest offsets of other topics are ignored (topic renamed in config). */
  inputTopic: string;
  log: Logger;
}

export interface Booted {
  model: LlamaModel;
  optimizer: AdamW;
  store: CheckpointStore;
  ledger: OffsetLedger;
  start: LoopStart;
  tokenizer: TurnTokenizer | null;
  /** Frozen KL reference (rl with kl.coef > 0), else null. */
  reference: LlamaModel | null;
  /** The checkpoint this process resumed from, if any. */
  resumed: CheckpointRef | undefined;
  dispose(): void;
}

export const REFERENCE_DIR = 'reference';

async function loadOrFail(dir: string, what: string): Promise<LlamaModel> {
  try {
    return await loadModel(dir);
  } catch (err) {
    throw new CheckpointError(
      TrainerReason.CHECKPOINT_LOAD_FAILED,
      `cannot load ${what} from ${dir}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

/** Copies a model folder (config, weights, tokenizer files) into dest atomically. */
async function copyModelFolder(src: string, dest: string): Promise<void> {
  const tmp = `${dest}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await cp(src, tmp, { recursive: true, filter: (p) => !p.includes('trainer_state') });
  await rename(tmp, dest);
}

/** Weights, optimizer, offsets and loop start of one lineage, before the tokenizer and reference. */
interface Origin {
  model: LlamaModel;
  optimizer: AdamW;
  ledger: OffsetLedger;
  start: LoopStart;
  /** The folder the weights came from (tokenizer files, KL reference copy). */
  lineageSource: string;
}

function newOptimizer(model: LlamaModel, opt: BootstrapOptions['cfg']['optimizer']): AdamW {
  return new AdamW(model.namedWeights(), {
    beta1: opt.beta1,
    beta2: opt.beta2,
    eps: opt.eps,
    weightDecay: opt.weightDecay,
    noDecay: defaultNoDecay(opt.noDecay),
  });
}

/** Weights, optimizer moments, offsets (of the input topic) and counters of a checkpoint. */
async function resumeFrom(o: BootstrapOptions, resumed: CheckpointRef): Promise<Origin> {
  const { log } = o;
  const m = resumed.manifest;
  const model = await loadOrFail(resumed.path, `checkpoint ${m.version}`);
  const optimizer = newOptimizer(model, o.cfg.optimizer);
  const state = await readOptimizerState(join(resumed.path, m.optimizer.file));
  try {
    optimizer.setState(state);
  } finally {
    for (const t of [...state.m.values(), ...state.v.values()]) t.dispose();
  }
  const foreign = m.offsets.filter((p) => p.topic !== o.inputTopic);
  if (foreign.length > 0)
    log.warn(
      { topics: [...new Set(foreign.map((p) => p.topic))] },
      'checkpoint has offsets of other topics; ignoring them',
    );
  const ledger = new OffsetLedger(m.offsets.filter((p) => p.topic === o.inputTopic));
  const s = m.state as { records?: number; tokens?: number; baseline?: BaselineState };
  const start: LoopStart = {
    step: m.step,
    parent: resumed.path,
    version: m.version,
    baseline: s.baseline,
    counters: { records: s.records ?? 0, tokens: s.tokens ?? 0 },
    checkpointAt: m.createdAt,
  };
  log.info(
    { step: m.step, version: m.version, path: resumed.path, offsets: m.offsets },
    'resuming from checkpoint',
  );
  return { model, optimizer, ledger, start, lineageSource: resumed.path };
}

/** The folder a new lineage starts from: the newest SFT checkpoint (rl initFrom latest-sft) or initModelDir. */
async function freshSource(o: BootstrapOptions, store: CheckpointStore): Promise<string> {
  const { cfg, log } = o;
  if (o.kind === 'rl' && (cfg as RlTrainerConfig).initFrom === 'latest-sft') {
    const sft = await new CheckpointStore(o.checkpointRoot, o.sftModelId, log).latest({ verify: true });
    if (!sft) {
      throw new TrainerError(
        TrainerReason.NO_SFT_CHECKPOINT,
        `trainer.rl.initFrom is latest-sft but ${join(o.checkpointRoot, o.sftModelId)} has no valid checkpoint yet; run \`prism train sft\` first`,
        { exitCode: 2 },
      );
    }
    log.info({ version: sft.manifest.version, path: sft.path }, 'starting RL from the latest SFT checkpoint');
    return sft.path;
  }
  if (cfg.initModelDir === undefined) {
    throw new ConfigError(`trainer.${o.kind}.initModelDir: required when ${store.dir} has no checkpoint yet`);
  }
  return cfg.initModelDir;
}

/** A new lineage: step 0, fresh optimizer, no offsets. */
async function startFresh(o: BootstrapOptions, store: CheckpointStore): Promise<Origin> {
  const source = await freshSource(o, store);
  const model = await loadOrFail(source, 'the starting model');
  const optimizer = newOptimizer(model, o.cfg.optimizer);
  return {
    model,
    optimizer,
    ledger: new OffsetLedger(),
    start: { step: 0, parent: source, version: null },
    lineageSource: source,
  };
}

/** The KL reference of rl with kl.coef > 0 (else null), checked against the policy's vocabulary. */
async function klReference(
  o: BootstrapOptions,
  store: CheckpointStore,
  model: LlamaModel,
  freshLineage: string | null,
): Promise<LlamaModel | null> {
  if (o.kind !== 'rl' || (o.cfg as RlTrainerConfig).kl.coef <= 0) return null;
  const reference = await loadReference(o, store, freshLineage);
  if (reference.config.vocab_size !== model.config.vocab_size) {
    throw new ConfigError(
      `trainer.rl.kl.referenceModelDir: reference vocabulary (${reference.config.vocab_size}) differs from the policy's (${model.config.vocab_size})`,
    );
  }
  return reference;
}

/**
 * Where a trainer starts: its own newest valid checkpoint (weights, optimizer moments, offsets,
 * baseline) if any; else, for RL with initFrom latest-sft, the newest SFT checkpoint; else the
 * configured model folder. Locks the checkpoint folder for this process.
 */
export async function bootstrap(o: BootstrapOptions): Promise<Booted> {
  const store = new CheckpointStore(o.checkpointRoot, o.cfg.modelId, o.log);
  store.lock();
  try {
    await store.cleanTemp();
    const resumed = await store.latest({ verify: true });
    const { model, optimizer, ledger, start, lineageSource } = resumed
      ? await resumeFrom(o, resumed)
      : await startFresh(o, store);
    const tokenizer = await loadTokenizer(model.sourceDir ?? lineageSource, model.config);
    const reference = await klReference(o, store, model, resumed === undefined ? lineageSource : null);
    const booted: Booted = {
      model,
      optimizer,
      store,
      ledger,
      start,
      tokenizer,
      reference,
      resumed,
      dispose() {
        optimizer.dispose();
        model.dispose();
        reference?.dispose();
        store.unlock();
      },
    };
    return booted;
  } catch (err) {
    store.unlock();
    throw err;
  }
}

/**
 * The frozen KL reference: trainer.rl.kl.referenceModelDir if set, else a copy of the model the
 * lineage started from, kept in <checkpoint dir>/reference (SFT checkpoints get pruned, so the
 * copy is what makes the reference survive restarts).
 */
async function loadReference(
  o: BootstrapOptions,
  store: CheckpointStore,
  freshSource: string | null,
): Promise<LlamaModel> {
  const cfg = o.cfg as RlTrainerConfig;
  if (cfg.kl.referenceModelDir !== undefined)
    return loadOrFail(cfg.kl.referenceModelDir, 'the KL reference model');
  const dir = join(store.dir, REFERENCE_DIR);
  if (!existsSync(dir)) {
    if (freshSource === null) {
      throw new ConfigError(
        `trainer.rl.kl.coef > 0 but ${dir} does not exist and this lineage did not just start; set trainer.rl.kl.referenceModelDir`,
      );
    }
    await copyModelFolder(freshSource, dir);
  }
  return loadOrFail(dir, 'the KL reference model');
}
