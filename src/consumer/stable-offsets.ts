import { setTimeout as sleep } from 'node:timers/promises';
import { PrismError, errorMessage } from '../errors.ts';
import { KafkaSecurityError } from '../kafka/security/errors.ts';
import type { ResolvedKafkaSecurity } from '../kafka/security/resolve.ts';
import { Reader, Writer } from './kafka-wire.ts';
import { WireConnection } from './wire-connection.ts';

/**
 * The committed offsets of a group as a read_committed Java consumer sees them: OffsetFetch v7
 * with require_stable (KIP-447). While a transaction holding offsets for the partition is still
 * pending, or its commit has not yet been applied by the group coordinator (that happens in a
 * task scheduled after the commit marker), the broker answers UNSTABLE_OFFSET_COMMIT and we retry.
 * kafkajs only speaks OffsetFetch ≤ v4, so this one request is hand-encoded, over the same TLS and
 * SASL (PLAIN/SCRAM) settings as the kafkajs clients (wire-connection.ts).
 */
const API_FIND_COORDINATOR = 10;
const API_OFFSET_FETCH = 9;
const UNSTABLE_OFFSET_COMMIT = 88;
const RETRIABLE = new Set([14, 15, 16, UNSTABLE_OFFSET_COMMIT]); // load in progress, not available, not coordinator

export class StableOffsetError extends PrismError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('OFFSET_FETCH_FAILED', message, options);
  }
}

export interface StableOffsetOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** TLS/SASL, as resolved for the kafkajs clients; undefined = plaintext. */
  readonly security?: ResolvedKafkaSecurity;
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** Give up after this long (then StableOffsetError). */
  readonly timeoutMs: number;
  readonly requestTimeoutMs?: number;
}

/** Offset the group will resume `topic[partition]` from, or null if it has none. */
export async function fetchStableOffset(o: StableOffsetOptions): Promise<string | null> {
  const deadline = Date.now() + o.timeoutMs;
  let lastError: unknown;
  for (let wait = 20; Date.now() < deadline; wait = Math.min(wait * 2, 500)) {
    try {
      const coordinator = await findCoordinator(o);
      const result = await offsetFetch(coordinator, o);
      if (result.kind === 'ok') return result.offset;
      lastError = new Error(`error code ${result.code}`);
    } catch (err) {
      if (err instanceof KafkaSecurityError) throw err; // a wrong password does not heal by retrying
      lastError = err;
    }
    await sleep(wait);
  }
  throw new StableOffsetError(
    `no stable committed offset for ${o.groupId} ${o.topic}[${o.partition}] within ${o.timeoutMs} ms: ${errorMessage(lastError)}`,
    { cause: lastError },
  );
}

async function findCoordinator(o: StableOffsetOptions): Promise<{ host: string; port: number }> {
  let lastError: unknown;
  for (const broker of o.brokers) {
    const [host, port] = splitHostPort(broker);
    try {
      const req = new Writer()
        .int16(API_FIND_COORDINATOR)
        .int16(2)
        .int32(1)
        .string(o.clientId)
        .string(o.groupId)
        .int8(0);
      const r = new Reader(await roundTrip(host, port, req.frame(), o));
      r.int32(); // correlation id
      r.int32(); // throttle
      const code = r.int16();
      r.string(); // error message
      r.int32(); // node id
      const cHost = r.string() ?? host;
      const cPort = r.int32();
      if (code !== 0) throw new Error(`FindCoordinator error code ${code}`);
      return { host: cHost, port: cPort };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('no broker answered FindCoordinator');
}

type FetchResult = { kind: 'ok'; offset: string | null } | { kind: 'retry'; code: number };

/** OffsetFetch v7 request (flexible: header v2) for one partition, require_stable = true. */
export function encodeOffsetFetchV7(
  clientId: string,
  correlationId: number,
  groupId: string,
  topic: string,
  partition: number,
): Buffer {
  return new Writer()
    .int16(API_OFFSET_FETCH)
    .int16(7)
    .int32(correlationId)
    .string(clientId)
    .emptyTags()
    .compactString(groupId)
    .compactArray([topic], (w, t) => {
      w.compactString(t)
        .compactArray([partition], (w2, p) => void w2.int32(p))
        .emptyTags();
    })
    .int8(1) // require_stable
    .emptyTags()
    .frame();
}

/** Parses an OffsetFetch v7 response body (after the size prefix) for one partition. */
export function decodeOffsetFetchV7(body: Buffer, topic: string, partition: number): FetchResult {
  const r = new Reader(body);
  r.int32(); // correlation id
  r.skipTags(); // response header v1
  r.int32(); // throttle
  let found: FetchResult | undefined;
  r.compactArray((t) => {
    const name = t.compactString();
    t.compactArray((p) => {
      const index = p.int32();
      const offset = p.int64();
      p.int32(); // leader epoch
      p.compactString(); // metadata
      const code = p.int16();
      p.skipTags();
      if (name === topic && index === partition) {
        found =
          code === 0
            ? { kind: 'ok', offset: offset < 0n ? null : offset.toString() }
            : RETRIABLE.has(code)
              ? { kind: 'retry', code }
              : undefined;
        if (code !== 0 && !RETRIABLE.has(code)) throw new Error(`OffsetFetch partition error code ${code}`);
      }
    });
    t.skipTags();
  });
  const topCode = r.int16();
  r.skipTags();
  if (topCode !== 0) {
    if (RETRIABLE.has(topCode)) return { kind: 'retry', code: topCode };
    throw new Error(`OffsetFetch error code ${topCode}`);
  }
  return found ?? { kind: 'ok', offset: null };
}

async function offsetFetch(c: { host: string; port: number }, o: StableOffsetOptions): Promise<FetchResult> {
  const body = await roundTrip(
    c.host,
    c.port,
    encodeOffsetFetchV7(o.clientId, 2, o.groupId, o.topic, o.partition),
    o,
  );
  return decodeOffsetFetchV7(body, o.topic, o.partition);
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** One request on a fresh (TLS/SASL as configured) connection; resolves with the response body. */
async function roundTrip(host: string, port: number, frame: Buffer, o: StableOffsetOptions): Promise<Buffer> {
  const timeoutMs = o.requestTimeoutMs ?? 10_000;
  const conn = await WireConnection.open(host, port, o.clientId, o.security, timeoutMs);
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout talking to ${host}:${port}`)), timeoutMs);
    });
    try {
      return await Promise.race([conn.request(frame), timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    conn.close();
  }
}
