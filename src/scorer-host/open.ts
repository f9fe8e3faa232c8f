import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { describeAdapter, selectBackend, type BackendEnv, type BackendInfo } from '../backend/index.ts';
import { maxBatchBytesOf, scorerSection, type ScorerConfig } from '../config/scorer.ts';
import { ConfigError } from '../errors.ts';
import { log as rootLog, type Logger } from '../log.ts';
import { initModel, type LlamaModel } from '../model/index.ts';
import { loadModel } from '../model-store/llama.ts';
import type { Arch, Preset } from '../model/config.ts';
import { loadTokenizer } from '../tokenizer/index.ts';
import { ByteTokenizer } from '../tokenizer/byte.ts';
import type { TurnTokenizer } from '../tokenizer/types.ts';
import { weightsSha256 } from '../trainer/checkpoint/sha.ts';
import { PrismScorer } from '../scorer/prism-scorer.ts';

export interface ProbeIdentity {
  probeModelId: string;
  probeModelVersion: string;
}

/**
 * Identity of a probe model folder: a prism checkpoint's manifest (modelId, version) when present,
 * else the folder name and "sha-" + the first 12 hex digits of weightsSha256 (trainer/checkpoint/sha.ts).
 * Scores from different versions are not comparable, so every score carries both.
 */
export async function probeIdentity(dir: string): Promise<ProbeIdentity> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'prism-manifest.json'), 'utf8')) as {
      modelId?: unknown;
      version?: unknown;
    };
    if (typeof m.modelId === 'string' && typeof m.version === 'string')
      return { probeModelId: m.modelId, probeModelVersion: m.version };
  } catch {
    // Not a prism checkpoint: fall through to the folder name and weight digest.
  }
  return {
    probeModelId: basename(resolve(dir)),
    probeModelVersion: `sha-${(await weightsSha256(dir)).slice(0, 12)}`,
  };
}

export interface ProbeSource {
  /** A Hugging Face model folder... */
  modelDir?: string;
  /** ...or a random built-in preset (bench and tests). */
  preset?: { preset: Preset; arch: Arch; seed: number };
}

export interface OpenedProbe {
  model: LlamaModel;
  tokenizer: TurnTokenizer | null;
  identity: ProbeIdentity;
}

export async function openProbeModel(src: ProbeSource): Promise<OpenedProbe> {
  if (src.modelDir !== undefined) {
    const model = await loadModel(src.modelDir);
    try {
      return {
        model,
        tokenizer: await loadTokenizer(src.modelDir, model.config),
        identity: await probeIdentity(src.modelDir),
      };
    } catch (err) {
      model.dispose();
      throw err;
    }
  }
  if (src.preset !== undefined) {
    const { preset, arch, seed } = src.preset;
    return {
      model: initModel(src.preset),
      tokenizer: new ByteTokenizer(),
      identity: { probeModelId: `preset-${preset}-${arch}`, probeModelVersion: `seed-${seed}` },
    };
  }
  throw new ConfigError('scorer.modelDir is required (the probe model folder)');
}

export interface OpenScorerOptions {
  /** Overrides modelDir with a random preset. */
  preset?: ProbeSource['preset'];
  /** input.limits.maxTokens (bounds text-only turns too, see src/sequence/build.ts). */
  maxTokens?: number;
  logger?: Logger;
  backendEnv?: BackendEnv;
}

/** What a PrismScorer is built from besides its model: the parsed scorer section and the process's settings. */
export interface PrismScorerSettings {
  readonly cfg: ScorerConfig;
  /** The selected backend's kind (BackendInfo.kind). */
  readonly backend: string;
  /** The GPU adapter it runs on (webgpu; describeAdapter of BackendInfo.adapter). */
  readonly adapter?: string;
  readonly maxTokens?: number;
  readonly logger: Logger;
}

/** A PrismScorer on a loaded probe (it owns the model): one place for every caller's scorer options. */
export function buildPrismScorer(
  probe: { model: LlamaModel; tokenizer: TurnTokenizer | null; identity: ProbeIdentity },
  s: PrismScorerSettings,
): PrismScorer {
  const { cfg } = s;
  return new PrismScorer({
    model: probe.model,
    tokenizer: probe.tokenizer,
    ...probe.identity,
    backend: s.backend,
    adapter: s.adapter,
    maxSeqLen: cfg.maxSeqLen,
    maxTokens: s.maxTokens,
    batchSize: cfg.batchSize,
    maxBatchBytes: maxBatchBytesOf(cfg.maxBatchMemoryMB),
    maxBatchTokens: cfg.maxBatchTokens,
    emitNorms: cfg.emitNorms,
    path: cfg.path,
    normMethod: cfg.normMethod,
    logger: s.logger,
  });
}

export interface OpenedPrismScorer {
  scorer: PrismScorer;
  backend: BackendInfo;
  /** The probe as loaded (its tokenizer and architecture serve checkpoints adopted later). */
  probe: OpenedProbe;
}

/** Selects the backend, loads the probe model and returns a ready PrismScorer (+ the backend it got). */
export async function openPrismScorer(
  config: Partial<ScorerConfig>,
  opts: OpenScorerOptions = {},
): Promise<OpenedPrismScorer> {
  const cfg = scorerSection.parse(config);
  const logger = opts.logger ?? rootLog;
  // The scorer reads tensors only asynchronously (src/scorer/norms.ts), so webgpu is allowed.
  const backend = await selectBackend(cfg.backend, { env: opts.backendEnv, logger, asyncReads: true });
  const probe = await openProbeModel(opts.preset ? { preset: opts.preset } : { modelDir: cfg.modelDir });
  const scorer = buildPrismScorer(
    {
      ...probe,
      identity: {
        probeModelId: cfg.probeModelId ?? probe.identity.probeModelId,
        probeModelVersion: cfg.probeModelVersion ?? probe.identity.probeModelVersion,
      },
    },
    {
      cfg,
      backend: backend.kind,
      adapter: backend.adapter === undefined ? undefined : describeAdapter(backend.adapter),
      maxTokens: opts.maxTokens,
      logger,
    },
  );
  logger.info(
    {
      probeModelId: scorer.probeModelId,
      probeModelVersion: scorer.probeModelVersion,
      backend: backend.kind,
      path: cfg.path,
      batchSize: cfg.batchSize,
      maxSeqLen: scorer.maxSeqLen,
    },
    'PRISM scorer ready',
  );
  return { scorer, backend, probe };
}
