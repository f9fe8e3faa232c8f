/**
 * probe.mode follow with the torch scorer (src/scorer-host/torch/following.ts) against an in-process fake
 * service (no Python): a verified checkpoint is RELOADed into the service after a micro-batch and
 * adopted at the next swapIfReady(), so outputs carry the new version only for batches scored on it;
 * a reload the service refuses keeps the old version and is counted as rejected; a sha256 mismatch
 * never reaches the service; respawn/reconnect re-applies the reloaded folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { torchScorerSection } from '../../src/config/scorer.ts';
import { createLogger } from '../../src/log.ts';
import type { ModelUpdate, Trajectory } from '../../src/schemas/types.ts';
import { TorchFollowingScorer, type TorchCheckpoint } from '../../src/scorer-host/torch/following.ts';
import {
  FrameDecoder,
  MessageType,
  ServiceSupervisor,
  TorchScorer,
  decodeJson,
  encodeJson,
} from '../../src/scorer-host/torch/index.ts';
import { CheckpointError, TrainerReason } from '../../src/trainer/errors.ts';
import { ModelFollower } from '../../src/trainer/model-updates/follower.ts';

const log = createLogger('test', 'silent');
const M = 2;

/** RESULT frame (protocol.py encode_result) with every item ok. */
function resultFrame(requestId: number, n: number): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt8(MessageType.RESULT, 0);
  head.writeUInt32LE(requestId, 1);
  head.writeUInt32LE(n, 5);
  head.writeUInt32LE(M, 9);
  const rows = Buffer.alloc(13 * n);
  const norms = Buffer.alloc(4 * M * n);
  for (let i = 0; i < n; i++) {
    rows.writeDoubleLE(0.5, 13 * i);
    rows.writeUInt32LE(1, 13 * i + 8);
    for (let j = 0; j < M; j++) norms.writeFloatLE(1 + j, 4 * (i * M + j));
  }
  const tail = Buffer.from(JSON.stringify({ errors: {} }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(tail.length);
  const payload = Buffer.concat([head, rows, norms, len, tail]);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(payload.length);
  return Buffer.concat([prefix, payload]);
}

interface Fake {
  /** Every request in arrival order: "score" or "reload:<dir>:<sha256>". */
  log: string[];
  /** The folder the fake serves (changed by an accepted RELOAD). */
  serving: string;
  /** Return an error message to refuse a RELOAD. */
  refuse: (dir: string) => string | undefined;
  /** Drops every connection (the server keeps listening). */
  drop(): void;
  close(): Promise<void>;
}

async function fakeService(path: string): Promise<Fake> {
  const sockets = new Set<Socket>();
  const server: Server = createServer();
  const fake: Fake = {
    log: [],
    serving: 'base',
    refuse: () => undefined,
    drop: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const dec = new FrameDecoder();
    sock.on('data', (d: Buffer) => {
      for (const f of dec.push(d)) {
        if (f[0] === MessageType.HELLO) {
          sock.write(
            encodeJson(MessageType.WELCOME, {
              protocol: 1,
              model_id: 'fake',
              model_version: 'v1',
              dtype: 'fp32',
              device: 'cpu',
              num_layers: 1,
              num_matrices: M,
              vocab_size: 300,
              max_rows: 16,
              max_tokens: 4096,
            }),
          );
        } else if (f[0] === MessageType.SCORE) {
          fake.log.push(`score@${fake.serving}`);
          sock.write(resultFrame(f.readUInt32LE(1), f.readUInt32LE(5)));
        } else if (f[0] === MessageType.RELOAD) {
          const body = decodeJson(f) as { model_dir: string; sha256: string };
          fake.log.push(`reload:${body.model_dir}:${body.sha256}`);
          const why = fake.refuse(body.model_dir);
          if (why !== undefined) {
            sock.write(encodeJson(MessageType.ERROR, { code: 'RELOAD_FAILED', message: why }));
          } else {
            fake.serving = body.model_dir;
            sock.write(encodeJson(MessageType.RELOADED, { model_id: 'fake', model_version: body.model_dir }));
          }
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  return fake;
}

function traj(id: string): Trajectory {
  return {
    id,
    task_id: 't',
    env: 'test',
    turns: [
      { role: 'user', content: '', token_ids: [1, 2], logprobs: null },
      { role: 'assistant', content: '', token_ids: [3, 4, 5], logprobs: null },
    ],
    reward: 1,
    metadata: {},
    created_at: 0,
    behavior_model_version: null,
  } as unknown as Trajectory;
}

function update(version: string, step: number, sha256 = `sha-${version}`): ModelUpdate {
  return {
    model_id: 'probe',
    version,
    step,
    uri: `/ckpt/${version}`,
    sha256,
    created_at: 0,
    trainer: 'sft',
    metrics: {},
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  fake: Fake;
  follower: ModelFollower<TorchCheckpoint>;
  scorer: TorchFollowingScorer;
  events: string[];
}

async function setup(): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'torch-follow-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const fake = await fakeService(path);
  cleanups.push(() => fake.close());
  const cfg = torchScorerSection.parse({
    spawn: false,
    socket: path,
    backoffInitialMs: 20,
    backoffMaxMs: 100,
    unavailablePatienceMs: 10_000,
  });
  const supervisor = new ServiceSupervisor({ cfg, maxRows: 16, maxTokens: 4096, log });
  await supervisor.start();
  const base = new TorchScorer({
    supervisor,
    tokenizer: null,
    vocabSize: 300,
    maxSeqLen: 64,
    batchSize: 4,
    maxBatchTokens: 4096,
    emitNorms: false,
    unavailablePatienceMs: 10_000,
    probeModelId: 'probe',
    probeModelVersion: 'v1',
    backend: 'torch-cpu-fp32',
    log,
  });
  const events: string[] = [];
  const follower = new ModelFollower<TorchCheckpoint>({
    modelId: 'probe',
    current: { version: 'v1', step: 1 },
    load: (d) => Promise.resolve({ dir: d }),
    dispose: () => undefined,
    // sha256 "bad-…" stands for a folder whose weights do not match the announcement.
    verify: (d, sha) =>
      sha.startsWith('bad')
        ? Promise.reject(new CheckpointError(TrainerReason.CHECKPOINT_LOAD_FAILED, `${d}: sha256 mismatch`))
        : Promise.resolve(sha),
    onEvent: (e) => events.push(`${e.kind}:${e.update.version}`),
  });
  const scorer = new TorchFollowingScorer({
    scorer: base,
    follower,
    reload: (d, sha) => base.reload(d, sha),
    onApplied: (u) => events.push(`reloaded:${u.version}`),
    onRejected: (u) => events.push(`service-rejected:${u.version}`),
    log,
  });
  cleanups.push(async () => {
    await follower.close();
    scorer.dispose();
  });
  return { fake, follower, scorer, events };
}

describe('TorchFollowingScorer (probe.mode follow, scorer.kind torch)', () => {
  it('reloads a verified checkpoint after a micro-batch and adopts it at the next swap', async () => {
    const { fake, follower, scorer, events } = await setup();
    expect(scorer.swapIfReady()).toBeNull();
    follower.offer(update('v2', 2));
    await follower.idle();
    // Verified, but nothing changes before a micro-batch boundary.
    expect(scorer.swapIfReady()).toBeNull();
    expect(scorer.probeModelVersion).toBe('v1');

    const first = await scorer.scoreBatch([traj('a'), traj('b')]);
    expect(first.every((o) => o.ok)).toBe(true);
    // Scored on the old model, then the service reloaded the new folder with its sha256.
    expect(fake.log).toEqual(['score@base', 'reload:/ckpt/v2:sha-v2']);
    expect(scorer.probeModelVersion).toBe('v1');

    const change = scorer.swapIfReady();
    expect(change?.from).toEqual({ modelId: 'probe', version: 'v1' });
    expect(change?.to).toEqual({ modelId: 'probe', version: 'v2' });
    expect(scorer.probeModelVersion).toBe('v2');
    expect(scorer.swapIfReady()).toBeNull();

    await scorer.scoreBatch([traj('c')]);
    expect(fake.log.at(-1)).toBe('score@/ckpt/v2');
    expect(events).toEqual(['loaded:v2', 'applied:v2', 'reloaded:v2']);
  });

  it('keeps the old version serving when the service refuses the checkpoint', async () => {
    const { fake, follower, scorer, events } = await setup();
    fake.refuse = (d) => `${d}: weights sha256 differs; keeping the old model`;
    follower.offer(update('v2', 2));
    await follower.idle();
    await scorer.scoreBatch([traj('a')]);
    expect(fake.log).toEqual(['score@base', 'reload:/ckpt/v2:sha-v2']);
    expect(events).toContain('service-rejected:v2');
    expect(events).not.toContain('reloaded:v2');
    expect(scorer.swapIfReady()).toBeNull();
    expect(scorer.probeModelVersion).toBe('v1');
    await scorer.scoreBatch([traj('b')]);
    expect(fake.log.at(-1)).toBe('score@base');

    // A later good checkpoint is still adopted.
    fake.refuse = () => undefined;
    follower.offer(update('v3', 3));
    await follower.idle();
    await scorer.scoreBatch([traj('c')]);
    expect(scorer.swapIfReady()?.to.version).toBe('v3');
  });

  it('never sends a checkpoint whose sha256 does not verify', async () => {
    const { fake, follower, scorer, events } = await setup();
    follower.offer(update('v2', 2, 'bad-sha'));
    await follower.idle();
    await scorer.scoreBatch([traj('a')]);
    expect(fake.log).toEqual(['score@base']);
    expect(events).toEqual(['rejected:v2']);
    expect(scorer.swapIfReady()).toBeNull();
  });

  it('refuses to score a reloaded model under the old label (swap first)', async () => {
    const { follower, scorer } = await setup();
    follower.offer(update('v2', 2));
    await follower.idle();
    await scorer.scoreBatch([traj('a')]);
    await expect(scorer.scoreBatch([traj('b')])).rejects.toMatchObject({ code: 'SCORER_CONTRACT' });
    expect(scorer.swapIfReady()?.to.version).toBe('v2');
    await expect(scorer.scoreBatch([traj('b')])).resolves.toHaveLength(1);
  });

  it('re-applies the reloaded folder when it reconnects to a service serving the old one', async () => {
    const { fake, follower, scorer } = await setup();
    follower.offer(update('v2', 2));
    await follower.idle();
    await scorer.scoreBatch([traj('a')]);
    scorer.swapIfReady();
    // The service restarts on its original model: the connection drops.
    fake.serving = 'base';
    fake.drop();
    await expect(scorer.scoreBatch([traj('b')])).resolves.toHaveLength(1);
    expect(fake.log.slice(-2)).toEqual(['reload:/ckpt/v2:sha-v2', 'score@/ckpt/v2']);
    expect(scorer.probeModelVersion).toBe('v2');
  });

  it('is accepted by the configuration (probe.mode follow with scorer.kind torch)', () => {
    const cfg = loadConfig({
      env: {
        PRISM_PROBE_MODE: 'follow',
        PRISM_PROBE_FOLLOW_MODEL_ID: 'prism-sft',
        PRISM_SCORER_KIND: 'torch',
      },
    });
    expect(cfg.probe.mode).toBe('follow');
    expect(cfg.scorer.kind).toBe('torch');
  });
});
