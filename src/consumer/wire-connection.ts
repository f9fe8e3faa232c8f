import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { KafkaSecurityError } from '../kafka/security/errors.ts';
import type { ResolvedKafkaSecurity } from '../kafka/security/resolve.ts';
import { Reader, Writer } from './kafka-wire.ts';

/**
 * One Kafka connection for the hand-encoded requests (stable-offsets.ts): plain TCP or TLS (the
 * same options as kafkajs, so the same CA and host-name checks), then SASL PLAIN or SCRAM
 * (RFC 5802) via SaslHandshake v1 + SaslAuthenticate v1, like the Java client.
 */
const API_SASL_HANDSHAKE = 17;
const API_SASL_AUTHENTICATE = 36;
const SASL_AUTHENTICATION_FAILED = 58;

export class WireConnection {
  private acc = Buffer.alloc(0);
  private pending: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failed: Error | undefined;
  private correlation = 100;

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static async open(
    host: string,
    port: number,
    clientId: string,
    security: ResolvedKafkaSecurity | undefined,
    timeoutMs: number,
  ): Promise<WireConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s: Socket =
        security?.ssl === undefined
          ? netConnect({ host, port })
          : tlsConnect({ host, port, ...security.ssl });
      s.setTimeout(timeoutMs, () => {
        s.destroy();
        reject(new Error(`timeout talking to ${host}:${port}`));
      });
      s.once('error', reject);
      s.once(security?.ssl === undefined ? 'connect' : 'secureConnect', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
    const conn = new WireConnection(socket, clientId);
    try {
      if (security?.sasl !== undefined) await conn.authenticate(security.sasl as SaslCredentials);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** Send a framed request (its correlation id is the caller's); resolves with the response body. */
  request(frame: Buffer): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.acc = Buffer.concat([this.acc, chunk]);
    if (this.acc.length < 4) return;
    const size = this.acc.readInt32BE(0);
    if (this.acc.length < 4 + size) return;
    const body = this.acc.subarray(4, 4 + size);
    this.acc = this.acc.subarray(4 + size);
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(body);
  }

  private fail(err: Error): void {
    this.failed ??= err;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private header(api: number, version: number): Writer {
    this.correlation += 1;
    return new Writer().int16(api).int16(version).int32(this.correlation).string(this.clientId);
  }

  private async authenticate(sasl: SaslCredentials): Promise<void> {
    const mechanism = sasl.mechanism.toUpperCase();
    const hs = new Reader(await this.request(this.header(API_SASL_HANDSHAKE, 1).string(mechanism).frame()));
    hs.int32();
    const code = hs.int16();
    if (code !== 0) {
      throw new KafkaSecurityError(
        'KAFKA_AUTH_FAILED',
        `broker does not accept SASL mechanism ${mechanism} (error code ${code})`,
      );
    }
    if (mechanism === 'PLAIN') {
      await this.saslStep(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`, 'utf8'), sasl.username);
      return;
    }
    const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
    await scram(hash, sasl.username, sasl.password, (bytes) => this.saslStep(bytes, sasl.username));
  }

  /** One SaslAuthenticate v1 round; returns the server's auth bytes. */
  private async saslStep(bytes: Buffer, username: string): Promise<Buffer> {
    const w = this.header(API_SASL_AUTHENTICATE, 1).int32(bytes.length);
    const frame = Buffer.concat([w.frame(), bytes]);
    frame.writeInt32BE(frame.length - 4, 0); // size prefix covers the appended bytes
    const r = new Reader(await this.request(frame));
    r.int32();
    const code = r.int16();
    const message = r.string();
    const len = r.int32();
    const out = len < 0 ? Buffer.alloc(0) : Buffer.from(readBytes(r, len));
    if (code !== 0) {
      throw new KafkaSecurityError(
        'KAFKA_AUTH_FAILED',
        `SASL authentication of user "${username}" failed (error code ${code}${code === SASL_AUTHENTICATION_FAILED ? ', bad credentials' : ''}${message ? `: ${message}` : ''})`,
      );
    }
    return out;
  }
}

interface SaslCredentials {
  mechanism: string;
  username: string;
  password: string;
}

function readBytes(r: Reader, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 1) out[i] = r.int8() & 0xff;
  return out;
}

const saslName = (s: string): string => s.replaceAll('=', '=3D').replaceAll(',', '=2C');

/** RFC 5802 client: client-first, server-first, client-final (with proof), server-final check. */
export async function scram(
  hash: 'sha256' | 'sha512',
  username: string,
  password: string,
  step: (bytes: Buffer) => Promise<Buffer>,
  nonce = randomBytes(24).toString('base64'),
): Promise<void> {
  const clientFirstBare = `n=${saslName(username)},r=${nonce}`;
  const serverFirst = (await step(Buffer.from(`n,,${clientFirstBare}`, 'utf8'))).toString('utf8');
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
  const r = attrs.get('r') ?? '';
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
  const iterations = Number(attrs.get('i'));
  if (!r.startsWith(nonce) || !Number.isInteger(iterations) || iterations < 1) {
    throw new KafkaSecurityError('KAFKA_AUTH_FAILED', 'SCRAM: invalid server-first message');
  }
  const keyLen = hash === 'sha256' ? 32 : 64;
  const salted = pbkdf2Sync(password, salt, iterations, keyLen, hash);
  const hmac = (key: Buffer, data: string): Buffer => createHmac(hash, key).update(data).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
  const serverFinal = (
    await step(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'))
  ).toString('utf8');
  const expected = hmac(hmac(salted, 'Server Key'), authMessage);
  const got = Buffer.from(serverFinal.startsWith('v=') ? serverFinal.slice(2) : '', 'base64');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new KafkaSecurityError(
      'KAFKA_AUTH_FAILED',
      'SCRAM: the broker did not prove it knows the credentials',
    );
  }
}
