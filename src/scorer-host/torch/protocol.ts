/**
 * The scorer service's wire protocol, version 1 — the TypeScript half of
 * clients/python/prism_stream/scorer_service/protocol.py; specified in that folder's PROTOCOL.md.
 * Pure encode/decode (little-endian), no I/O.
 */
import { TorchScorerError } from './errors.ts';

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export const MessageType = {
  HELLO: 1,
  WELCOME: 2,
  SCORE: 3,
  RESULT: 4,
  RELOAD: 5,
  RELOADED: 6,
  ERROR: 7,
} as const;

/** What the service says about itself in WELCOME. */
export interface Welcome {
  readonly protocol: number;
  readonly model_id: string;
  readonly model_version: string;
  readonly dtype: string;
  readonly device: string;
  readonly device_name?: string;
  readonly num_layers: number;
  readonly num_matrices: number;
  readonly vocab_size: number;
  readonly max_rows: number;
  readonly max_tokens: number;
  readonly torch?: string;
  readonly pid?: number;
}

export interface ScoreSequence {
  readonly ids: Int32Array;
  /** 1 where the token is a target. */
  readonly isTarget: Uint8Array;
}

export type ResultItem =
  | { readonly ok: true; readonly norms: Float32Array; readonly loss: number; readonly targets: number }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface Result {
  readonly requestId: number;
  readonly items: ResultItem[];
}

function withLength(payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_BYTES) {
    throw new TorchScorerError(
      'PROTOCOL_ERROR',
      `frame of ${payload.length} bytes exceeds ${MAX_FRAME_BYTES}`,
    );
  }
  const head = Buffer.alloc(4);
  head.writeUInt32LE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

export function encodeJson(type: number, body: object): Buffer {
  return withLength(Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(body), 'utf8')]));
}

export function decodeJson(payload: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(payload.subarray(1).toString('utf8'));
  } catch (err) {
    throw new TorchScorerError('PROTOCOL_ERROR', `control frame is not JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TorchScorerError('PROTOCOL_ERROR', 'control frame is not a JSON object');
  }
  return body as Record<string, unknown>;
}

export function encodeHello(client: string): Buffer {
  return encodeJson(MessageType.HELLO, { protocol: PROTOCOL_VERSION, client });
}

export function encodeScore(requestId: number, seqs: readonly ScoreSequence[]): Buffer {
  const total = seqs.reduce((n, s) => n + s.ids.length, 0);
  const buf = Buffer.alloc(9 + 4 * seqs.length + 5 * total);
  buf.writeUInt8(MessageType.SCORE, 0);
  buf.writeUInt32LE(requestId, 1);
  buf.writeUInt32LE(seqs.length, 5);
  let off = 9;
  for (const s of seqs) {
    if (s.ids.length !== s.isTarget.length) throw new RangeError('ids and isTarget differ in length');
    buf.writeUInt32LE(s.ids.length, off);
    off += 4;
  }
  for (const s of seqs) {
    for (const id of s.ids) {
      buf.writeInt32LE(id, off);
      off += 4;
    }
  }
  for (const s of seqs) {
    buf.set(s.isTarget, off);
    off += s.isTarget.length;
  }
  return withLength(buf);
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) {
    throw new TorchScorerError(
      'PROTOCOL_ERROR',
      `RESULT frame too short (${what}: ${payload.length} < ${bytes})`,
    );
  }
}

/** RESULT: u8 type, u32 request id, u32 n, u32 m; n × (f64 loss, u32 targets, u8 status); f32 norms[n·m]; u32 + JSON. */
export function decodeResult(payload: Buffer): Result {
  need(payload, 13, 'header');
  const requestId = payload.readUInt32LE(1);
  const n = payload.readUInt32LE(5);
  const m = payload.readUInt32LE(9);
  let off = 13;
  need(payload, off + 13 * n + 4 * n * m + 4, 'items and norms');
  const heads: { loss: number; targets: number; status: number }[] = [];
  for (let i = 0; i < n; i++) {
    heads.push({
      loss: payload.readDoubleLE(off),
      targets: payload.readUInt32LE(off + 8),
      status: payload.readUInt8(off + 12),
    });
    off += 13;
  }
  const normsAt = off;
  off += 4 * n * m;
  const tail = payload.readUInt32LE(off);
  need(payload, off + 4 + tail, 'error table');
  const errors = decodeJson(Buffer.concat([Buffer.from([0]), payload.subarray(off + 4, off + 4 + tail)]))
    .errors as Record<string, { code?: string; message?: string }> | undefined;
  const items = heads.map((h, i): ResultItem => {
    if (h.status === 0) {
      const norms = new Float32Array(m);
      for (let j = 0; j < m; j++) norms[j] = payload.readFloatLE(normsAt + 4 * (i * m + j));
      return { ok: true, norms, loss: h.loss, targets: h.targets };
    }
    const e = errors?.[String(i)] ?? {};
    return { ok: false, code: e.code ?? 'SCORING_FAILED', message: e.message ?? '' };
  });
  return { requestId, items };
}

/** Splits a byte stream into frame payloads (the 4-byte length prefix removed). */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private size = 0;

  push(data: Buffer): Buffer[] {
    this.chunks.push(data);
    this.size += data.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.size < 4) break;
      const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [buf];
      const len = buf.readUInt32LE(0);
      if (len === 0 || len > MAX_FRAME_BYTES) {
        throw new TorchScorerError('PROTOCOL_ERROR', `frame length ${len} outside 1..${MAX_FRAME_BYTES}`);
      }
      if (this.size < 4 + len) break;
      out.push(buf.subarray(4, 4 + len));
      const rest = buf.subarray(4 + len);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.size = rest.length;
    }
    return out;
  }
}

/** WELCOME's JSON, checked: the fields TorchScorer relies on must be there. */
export function parseWelcome(body: Record<string, unknown>): Welcome {
  const str = (k: string): string => {
    const v = body[k];
    if (typeof v !== 'string') throw new TorchScorerError('PROTOCOL_ERROR', `WELCOME lacks string ${k}`);
    return v;
  };
  const num = (k: string): number => {
    const v = body[k];
    if (typeof v !== 'number') throw new TorchScorerError('PROTOCOL_ERROR', `WELCOME lacks number ${k}`);
    return v;
  };
  return {
    protocol: num('protocol'),
    model_id: str('model_id'),
    model_version: str('model_version'),
    dtype: str('dtype'),
    device: str('device'),
    device_name: typeof body.device_name === 'string' ? body.device_name : undefined,
    num_layers: num('num_layers'),
    num_matrices: num('num_matrices'),
    vocab_size: num('vocab_size'),
    max_rows: num('max_rows'),
    max_tokens: num('max_tokens'),
    torch: typeof body.torch === 'string' ? body.torch : undefined,
    pid: typeof body.pid === 'number' ? body.pid : undefined,
  };
}
