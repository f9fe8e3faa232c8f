/**
 * The TS half of the scorer service protocol against an in-process fake service (no Python):
 * framing, handshake, version mismatch, a service killed mid-request, reconnect with backoff.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { torchScorerSection } from '../../src/config/scorer.ts';
import { createLogger } from '../../src/log.ts';
import type { Trajectory } from '../../src/schemas/types.ts';
import { concentrationStats } from '../../src/stats/index.ts';
import {
  FrameDecoder,
  MessageType,
  ServiceConnection,
  ServiceSupervisor,
  TorchScorer,
  TorchScorerError,
  decodeJson,
  decodeResult,
  encodeJson,
  encodeScore,
  requestChunks,
} from '../../src/scorer-host/torch/index.ts';

const log = createLogger('test', 'silent');
const M = 4; // matrices per trajectory in the fake service

/** RESULT frame as the Python service builds it (protocol.py encode_result). */
function resultFrame(
  requestId: number,
  items: { norms?: number[]; loss: number; targets: number; code?: string }[],
): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt8(MessageType.RESULT, 0);
  head.writeUInt32LE(requestId, 1);
  head.writeUInt32LE(items.length, 5);
  head.writeUInt32LE(M, 9);
  const rows = Buffer.alloc(13 * items.length);
  const norms = Buffer.alloc(4 * M * items.length);
  const errors: Record<string, { code: string; message: string }> = {};
  items.forEach((it, i) => {
    rows.writeDoubleLE(it.loss, 13 * i);
    rows.writeUInt32LE(it.targets, 13 * i + 8);
    rows.writeUInt8(it.code === undefined ? 0 : 1, 13 * i + 12);
    if (it.code !== undefined) errors[String(i)] = { code: it.code, message: 'bad' };
    (it.norms ?? []).forEach((v, j) => norms.writeFloatLE(v, 4 * (i * M + j)));
  });
  const tail = Buffer.from(JSON.stringify({ errors }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(tail.length);
  const payload = Buffer.concat([head, rows, norms, len, tail]);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(payload.length);
  return Buffer.concat([prefix, payload]);
}

/** Parses a SCORE payload: lengths and ids, to answer with norms derived from the ids. */
function parseScore(p: Buffer): { id: number; seqs: number[][]; targets: number[][] } {
  const id = p.readUInt32LE(1);
  const n = p.readUInt32LE(5);
  const lengths = Array.from({ length: n }, (_, i) => p.readUInt32LE(9 + 4 * i));
  let off = 9 + 4 * n;
  const seqs = lengths.map((L) => {
    const ids = Array.from({ length: L }, (_, k) => p.readInt32LE(off + 4 * k));
    off += 4 * L;
    return ids;
  });
  const targets = lengths.map((L) => {
    const t = Array.from(p.subarray(off, off + L));
    off += L;
    return t;
  });
  return { id, seqs, targets };
}

const fakeNorms = (ids: number[]): number[] => Array.from({ length: M }, (_, j) => 1 + ((ids[0] + j) % 5));

interface Fake {
  server: Server;
  sockets: Set<Socket>;
  scoreRequests: number;
  /** Called on every SCORE; return false to die instead of answering. */
  onScore: (n: number) => boolean;
  close(): Promise<void>;
}

async function fakeService(path: string, protocol = 1): Promise<Fake> {
  const sockets = new Set<Socket>();
  const fake: Fake = {
    server: createServer(),
    sockets,
    scoreRequests: 0,
    onScore: () => true,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        fake.server.close(() => r());
      }),
  };
  fake.server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const dec = new FrameDecoder();
    sock.on('data', (d: Buffer) => {
      for (const f of dec.push(d)) {
        if (f[0] === MessageType.HELLO) {
          const welcome = { protocol, model_id: 'fake', model_version: 'v1', dtype: 'fp32', device: 'cpu' };
          sock.write(
            encodeJson(MessageType.WELCOME, {
              ...welcome,
              num_layers: 1,
              num_matrices: M,
              vocab_size: 300,
              max_rows: 16,
              max_tokens: 4096,
            }),
          );
        } else if (f[0] === MessageType.SCORE) {
          fake.scoreRequests++;
          if (!fake.onScore(fake.scoreRequests)) {
            void fake.close();
            return;
          }
          const req = parseScore(f);
          sock.write(
            resultFrame(
              req.id,
              req.seqs.map((s, i) =>
                s.includes(299)
                  ? { loss: Number.NaN, targets: 0, code: 'TOKEN_OUT_OF_VOCAB' }
                  : { norms: fakeNorms(s), loss: 0.5, targets: req.targets[i].reduce((a, b) => a + b, 0) },
              ),
            ),
          );
        }
      }
    });
  });
  await new Promise<void>((r) => fake.server.listen(path, () => r()));
  return fake;
}

function traj(id: string, ids: number[]): Trajectory {
  return {
    id,
    task_id: 't',
    env: 'test',
    turns: [
      { role: 'user', content: '', token_ids: ids.slice(0, 2), logprobs: null },
      { role: 'assistant', content: '', token_ids: ids.slice(2), logprobs: null },
    ],
    reward: 1,
    metadata: {},
    created_at: 0,
    behavior_model_version: null,
  } as unknown as Trajectory;
}

const dirs: string[] = [];
const fakes: Fake[] = [];
const scorers: TorchScorer[] = [];
afterEach(async () => {
  scorers.splice(0).forEach((s) => s.dispose());
  await Promise.all(fakes.splice(0).map((f) => f.close()));
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function sockPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'torch-proto-'));
  dirs.push(d);
  return join(d, 's.sock');
}

function scorerOn(path: string, patienceMs = 10_000): { scorer: TorchScorer; supervisor: ServiceSupervisor } {
  const cfg = torchScorerSection.parse({
    spawn: false,
    socket: path,
    backoffInitialMs: 20,
    backoffMaxMs: 100,
    unavailablePatienceMs: patienceMs,
  });
  const supervisor = new ServiceSupervisor({ cfg, maxRows: 16, maxTokens: 4096, log });
  const scorer = new TorchScorer({
    supervisor,
    tokenizer: null,
    vocabSize: 300,
    maxSeqLen: 64,
    batchSize: 2,
    maxBatchTokens: 4096,
    emitNorms: true,
    unavailablePatienceMs: patienceMs,
    probeModelId: 'fake',
    probeModelVersion: 'v1',
    backend: 'torch-cpu-fp32',
    log,
  });
  scorers.push(scorer);
  return { scorer, supervisor };
}

describe('torch scorer protocol (framing)', () => {
  it('encodes SCORE as lengths, int32 ids and uint8 targets after a little-endian length prefix', () => {
    const buf = encodeScore(9, [{ ids: Int32Array.from([5, -1, 7]), isTarget: Uint8Array.from([0, 1, 1]) }]);
    expect(buf.readUInt32LE(0)).toBe(buf.length - 4);
    const parsed = parseScore(buf.subarray(4));
    expect(parsed).toEqual({ id: 9, seqs: [[5, -1, 7]], targets: [[0, 1, 1]] });
  });

  it('decodes RESULT frames with ok and failed items', () => {
    const frame = resultFrame(3, [
      { norms: [1, 2, 3, 4], loss: 0.25, targets: 7 },
      { loss: Number.NaN, targets: 0, code: 'NO_TARGET_TOKENS' },
    ]);
    const res = decodeResult(frame.subarray(4));
    expect(res.requestId).toBe(3);
    expect(res.items[0]).toEqual({
      ok: true,
      norms: Float32Array.from([1, 2, 3, 4]),
      loss: 0.25,
      targets: 7,
    });
    expect(res.items[1]).toMatchObject({ ok: false, code: 'NO_TARGET_TOKENS' });
  });

  it('reassembles frames split across and packed into chunks, and rejects absurd lengths', () => {
    const a = encodeJson(MessageType.HELLO, { protocol: 1 });
    const b = encodeJson(MessageType.RELOAD, { model_dir: '/x' });
    const both = Buffer.concat([a, b]);
    const dec = new FrameDecoder();
    expect(dec.push(both.subarray(0, 3))).toEqual([]);
    const got = [...dec.push(both.subarray(3, a.length + 2)), ...dec.push(both.subarray(a.length + 2))];
    expect(got.map((f) => decodeJson(f))).toEqual([{ protocol: 1 }, { model_dir: '/x' }]);
    const bad = Buffer.alloc(4);
    bad.writeUInt32LE(0);
    expect(() => new FrameDecoder().push(bad)).toThrow(TorchScorerError);
  });

  it('cuts requests by rows and padded tokens, shortest first', () => {
    const items = [5, 1, 4, 2, 3].map((n) => ({ seq: { ids: new Array<number>(n * 10).fill(0) } }));
    const chunks = requestChunks(items, 2, 60);
    expect(chunks.map((c) => c.map((i) => i.seq.ids.length))).toEqual([[10, 20], [30], [40], [50]]);
  });
});

describe('torch scorer protocol (service)', () => {
  it('handshakes: the service names its model, dtype and device', async () => {
    const path = sockPath();
    fakes.push(await fakeService(path));
    const conn = await ServiceConnection.open({ socket: path });
    expect(conn.welcome).toMatchObject({
      protocol: 1,
      model_id: 'fake',
      model_version: 'v1',
      dtype: 'fp32',
      device: 'cpu',
    });
    conn.close();
  });

  it('refuses a service that speaks another protocol version', async () => {
    const path = sockPath();
    fakes.push(await fakeService(path, 2));
    await expect(ServiceConnection.open({ socket: path })).rejects.toMatchObject({
      code: 'PROTOCOL_VERSION_MISMATCH',
    });
  });

  it('scores through the service: stats from src/stats, per-record service errors as outcomes', async () => {
    const path = sockPath();
    fakes.push(await fakeService(path));
    const { scorer, supervisor } = scorerOn(path);
    await supervisor.start();
    const out = await scorer.scoreBatch([
      traj('a', [1, 2, 3, 4]),
      traj('b', [2, 2, 299, 1]),
      traj('c', [7, 8]),
    ]);
    expect(out[0]).toMatchObject({ ok: true });
    if (!out[0].ok) throw new Error('unreachable');
    const norms = fakeNorms([1, 2, 3, 4]);
    expect(out[0].scores.norms).toEqual(norms);
    expect(out[0].scores.gini).toBeCloseTo(concentrationStats(Float32Array.from(norms)).gini, 12);
    expect(out[0].scores.response_tokens).toBe(2);
    expect(out[1]).toMatchObject({ ok: false, error: { code: 'TOKEN_OUT_OF_VOCAB' } });
    expect(out[2]).toMatchObject({ ok: false, error: { code: 'NO_TARGET_TOKENS' } }); // built on the TS side
  });

  it('survives a service killed mid-request: reports not ready, reconnects with backoff, resends', async () => {
    const path = sockPath();
    const first = await fakeService(path);
    fakes.push(first);
    first.onScore = (n) => n !== 2; // dies on the second request (mid-batch: batchSize 2 → 2 requests)
    const { scorer, supervisor } = scorerOn(path);
    await supervisor.start();
    const trajs = [1, 2, 3, 4].map((k) => traj(`t${k}`, [k, 1, 2, 3]));
    const pending = scorer.scoreBatch(trajs);
    // Wait until the service has died, then check readiness and bring a new one up on the same socket.
    await expect.poll(() => first.scoreRequests >= 2 && scorer.notReadyReason() !== undefined).toBe(true);
    expect(scorer.notReadyReason()).toMatch(/torch scorer service not connected/);
    const second = await fakeService(path);
    fakes.push(second);
    const out = await pending;
    expect(out.every((o) => o.ok)).toBe(true);
    expect(second.scoreRequests).toBe(1); // only the lost request was resent
    expect(scorer.notReadyReason()).toBeUndefined();
  });

  it('gives up after scorer.torch.unavailablePatienceMs with SERVICE_UNAVAILABLE', async () => {
    const path = sockPath();
    const only = await fakeService(path);
    fakes.push(only);
    only.onScore = () => false;
    const { scorer, supervisor } = scorerOn(path, 300);
    await supervisor.start();
    await expect(scorer.scoreBatch([traj('x', [1, 2, 3])])).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
  });
});
