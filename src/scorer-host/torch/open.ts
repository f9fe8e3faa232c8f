import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { scorerSection } from '../../config/scorer.ts';
import { ConfigError } from '../../errors.ts';
import { log as rootLog, type Logger } from '../../log.ts';
import { tokenLimit } from '../../sequence/index.ts';
import { loadTokenizer } from '../../tokenizer/index.ts';
import type { TurnTokenizer } from '../../tokenizer/types.ts';
import { ServiceSupervisor } from './supervisor.ts';
import { TorchScorer } from './torch-scorer.ts';

interface FolderFacts {
  readonly tokenizer: TurnTokenizer | null;
  readonly maxPositions: number;
}

async function folderFacts(dir: string | undefined): Promise<FolderFacts> {
  if (dir === undefined) return { tokenizer: null, maxPositions: Number.POSITIVE_INFINITY };
  let cfg: { prism_tokenizer?: unknown; max_position_embeddings?: unknown };
  try {
    cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as typeof cfg;
  } catch (err) {
    throw new ConfigError(
      `scorer.modelDir: cannot read ${join(dir, 'config.json')}: ${(err as Error).message}`,
    );
  }
  const tokenizer = await loadTokenizer(dir, {
    prism_tokenizer: cfg.prism_tokenizer === 'byte' ? 'byte' : undefined,
  });
  const maxPositions =
    typeof cfg.max_position_embeddings === 'number' ? cfg.max_position_embeddings : Number.POSITIVE_INFINITY;
  return { tokenizer, maxPositions };
}

/**
 * scorer.kind torch: starts (or connects to) the PyTorch scorer service and returns a TorchScorer.
 * The model folder (scorer.modelDir) is read here only for its tokenizer and position limit; a
 * remote service (spawn: false) without a local folder scores trajectories that carry token_ids.
 */
export async function openTorchScorer(
  config: z.input<typeof scorerSection>,
  opts: { logger?: Logger; maxTokens?: number } = {},
): Promise<TorchScorer> {
  const cfg = scorerSection.parse(config);
  const log = (opts.logger ?? rootLog).child({ component: 'torch-scorer' });
  if (cfg.torch.spawn && cfg.modelDir === undefined) {
    throw new ConfigError(
      'scorer.modelDir (--model) is required for scorer.kind torch with scorer.torch.spawn true',
    );
  }
  const facts = await folderFacts(cfg.modelDir);
  const supervisor = new ServiceSupervisor({
    cfg: cfg.torch,
    modelDir: cfg.modelDir,
    maxRows: cfg.batchSize,
    maxTokens: cfg.maxBatchTokens,
    log,
  });
  const conn = await supervisor.start();
  const w = conn.welcome;
  const scorer = new TorchScorer({
    supervisor,
    tokenizer: facts.tokenizer,
    vocabSize: w.vocab_size,
    maxSeqLen: tokenLimit(cfg.maxSeqLen, facts.maxPositions),
    maxTokens: opts.maxTokens,
    batchSize: cfg.batchSize,
    maxBatchTokens: cfg.maxBatchTokens,
    emitNorms: cfg.emitNorms,
    unavailablePatienceMs: cfg.torch.unavailablePatienceMs,
    probeModelId: cfg.probeModelId ?? w.model_id,
    probeModelVersion: cfg.probeModelVersion ?? w.model_version,
    backend: `torch-${w.device.split(':')[0]}-${w.dtype}`,
    log,
  });
  log.info(
    {
      probeModelId: scorer.probeModelId,
      probeModelVersion: scorer.probeModelVersion,
      device: w.device,
      deviceName: w.device_name,
      dtype: w.dtype,
      torch: w.torch,
      servicePid: supervisor.pid,
    },
    'torch scorer ready',
  );
  return scorer;
}
