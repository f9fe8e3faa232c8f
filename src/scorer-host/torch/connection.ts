import { createConnection, type Socket } from 'node:net';
import { TorchScorerError } from './errors.ts';
import {
  FrameDecoder,
  MessageType,
  PROTOCOL_VERSION,
  decodeJson,
  decodeResult,
  encodeHello,
  encodeJson,
  encodeScore,
  parseWelcome,
  type ResultItem,
  type ScoreSequence,
  type Welcome,
} from './protocol.ts';

/** Where the service listens: a Unix domain socket path, or TCP host + port. */
export type Endpoint = { readonly socket: string } | { readonly host: string; readonly port: number };

export function describeEndpoint(e: Endpoint): string {
  return 'socket' in e ? `unix:${e.socket}` : `tcp:${e.host}:${e.port}`;
}

interface Waiter {
  resolve(frame: Buffer): void;
  reject(err: Error): void;
}

/**
 * One connection to the scorer service after a successful handshake. The service answers frames
 * in order, so replies are matched to a FIFO of waiters. When the socket closes, every waiter
 * fails with SERVICE_DIED and `closed` resolves.
 */
export class ServiceConnection {
  readonly welcome: Welcome;
  readonly closed: Promise<Error>;
  private readonly socket: Socket;
  private readonly waiters: Waiter[];
  private nextId = 1;
  private closeReason: Error | undefined;

  private constructor(socket: Socket, waiters: Waiter[], welcome: Welcome, closed: Promise<Error>) {
    this.socket = socket;
    this.waiters = waiters;
    this.welcome = welcome;
    this.closed = closed;
    void closed.then((e) => (this.closeReason = e));
  }

  /** Connects and shakes hands; rejects with PROTOCOL_VERSION_MISMATCH, SERVICE_ERROR or SERVICE_UNAVAILABLE. */
  static async open(endpoint: Endpoint, timeoutMs = 10_000): Promise<ServiceConnection> {
    const socket = 'socket' in endpoint ? createConnection(endpoint.socket) : createConnection(endpoint);
    const waiters: Waiter[] = [];
    const decoder = new FrameDecoder();
    let markClosed: (e: Error) => void = () => undefined;
    const closed = new Promise<Error>((r) => (markClosed = r));
    const fail = (err: Error): void => {
      markClosed(err);
      for (const w of waiters.splice(0)) w.reject(err);
    };
    socket.on('data', (data: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(data);
      } catch (err) {
        fail(err as Error);
        socket.destroy();
        return;
      }
      for (const f of frames) waiters.shift()?.resolve(f);
    });
    socket.on('error', (err) =>
      fail(
        new TorchScorerError('SERVICE_DIED', `scorer service ${describeEndpoint(endpoint)}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    socket.on('close', () =>
      fail(
        new TorchScorerError(
          'SERVICE_DIED',
          `scorer service ${describeEndpoint(endpoint)} closed the connection`,
        ),
      ),
    );
    const first = new Promise<Buffer>((resolve, reject) => waiters.push({ resolve, reject }));
    socket.write(encodeHello('prism-stream'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TorchScorerError(
              'SERVICE_UNAVAILABLE',
              `no handshake from ${describeEndpoint(endpoint)} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      const frame = await Promise.race([first, timeout]);
      const welcome = handshake(frame);
      return new ServiceConnection(socket, waiters, welcome, closed);
    } catch (err) {
      socket.destroy();
      if (err instanceof TorchScorerError && err.code === 'SERVICE_DIED') {
        throw new TorchScorerError('SERVICE_UNAVAILABLE', err.message, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined || this.socket.destroyed;
  }

  private request(frame: Buffer): Promise<Buffer> {
    if (this.isClosed) {
      return Promise.reject(this.closeReason ?? new TorchScorerError('SERVICE_DIED', 'connection closed'));
    }
    const reply = new Promise<Buffer>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.socket.write(frame);
    return reply;
  }

  /** One SCORE request; per-sequence outcomes in order. */
  async score(seqs: readonly ScoreSequence[]): Promise<ResultItem[]> {
    const id = this.nextId++ >>> 0;
    const reply = await this.request(encodeScore(id, seqs));
    if (reply[0] === MessageType.ERROR) throw serviceError(reply);
    if (reply[0] !== MessageType.RESULT) throw unexpected(reply, 'RESULT');
    const res = decodeResult(reply);
    if (res.requestId !== id || res.items.length !== seqs.length) {
      throw new TorchScorerError(
        'PROTOCOL_ERROR',
        `RESULT for request ${res.requestId} with ${res.items.length} items, expected ${id} with ${seqs.length}`,
      );
    }
    return res.items;
  }

  /** Asks the service to load another model folder (its weights' sha256 checked there). */
  async reload(modelDir: string, sha256?: string): Promise<{ modelId: string; modelVersion: string }> {
    const reply = await this.request(encodeJson(MessageType.RELOAD, { model_dir: modelDir, sha256 }));
    if (reply[0] === MessageType.ERROR) {
      const e = decodeJson(reply);
      throw new TorchScorerError(
        'RELOAD_FAILED',
        `scorer service refused ${modelDir}: [${String(e.code)}] ${String(e.message)}`,
      );
    }
    if (reply[0] !== MessageType.RELOADED) throw unexpected(reply, 'RELOADED');
    const body = decodeJson(reply);
    return { modelId: String(body.model_id), modelVersion: String(body.model_version) };
  }

  close(): void {
    this.socket.destroy();
  }
}

function handshake(frame: Buffer): Welcome {
  if (frame[0] === MessageType.ERROR) throw serviceError(frame);
  if (frame[0] !== MessageType.WELCOME) throw unexpected(frame, 'WELCOME');
  const welcome = parseWelcome(decodeJson(frame));
  if (welcome.protocol !== PROTOCOL_VERSION) {
    throw new TorchScorerError(
      'PROTOCOL_VERSION_MISMATCH',
      `the scorer service speaks protocol ${welcome.protocol}, prism-stream ${PROTOCOL_VERSION}: run matching versions of the npm and Python packages`,
    );
  }
  return welcome;
}

function serviceError(frame: Buffer): TorchScorerError {
  const e = decodeJson(frame);
  const code = String(e.code);
  const msg = `scorer service error [${code}]: ${String(e.message)}`;
  return new TorchScorerError(
    code === 'PROTOCOL_VERSION_MISMATCH' ? 'PROTOCOL_VERSION_MISMATCH' : 'SERVICE_ERROR',
    msg,
  );
}

function unexpected(frame: Buffer, wanted: string): TorchScorerError {
  return new TorchScorerError('PROTOCOL_ERROR', `expected ${wanted}, got frame type ${frame[0]}`);
}
