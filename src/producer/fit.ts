import type { IHeaders } from 'kafkajs';
import { PrismError } from '../errors.ts';
import type { Batch, Outbound } from '../operators/types.ts';
import { DLQ_HEADERS, buildDeadLetter } from '../schemas/dead-letter.ts';

/**
 * Outputs that fit their topic (pure, no I/O). The broker rejects a record batch larger than the
 * topic's `max.message.bytes` (MESSAGE_TOO_LARGE) — for ever: retrying the same transaction would
 * crash-loop the partition (issue 19). So every output is sized before it is sent, and one that
 * does not fit is written WITHOUT its payload, with headers saying so; the original record still
 * lives in the input topic at the partition/offset the headers name.
 *
 * - a dead letter too large for the DLQ topic → the same dead letter, value omitted,
 *   `prism.error.code: DEAD_LETTER_TOO_LARGE` (the first code moves to `prism.error.original.code`);
 * - an SFT/RL output too large for its topic → a dead letter on the DLQ topic, value omitted,
 *   `prism.error.code: OUTPUT_TOO_LARGE` (`prism.error.original.route` names SFT or RL);
 * - if even that does not fit (huge input headers or key), only the error headers are kept.
 */
export const OVERSIZE_CODES = {
  deadLetter: 'DEAD_LETTER_TOO_LARGE',
  output: 'OUTPUT_TOO_LARGE',
} as const;

export const OVERSIZE_HEADERS = {
  /** `omitted`: the value was dropped. */
  payload: 'prism.error.payload',
  /** Bytes of the dropped value. */
  payloadBytes: 'prism.error.payload.bytes',
  /** max.message.bytes the record had to fit. */
  limit: 'prism.error.limit.bytes',
  originalCode: 'prism.error.original.code',
  originalRoute: 'prism.error.original.route',
  /** `omitted`: the input record's own headers (and an oversized key) were dropped too. */
  headers: 'prism.error.headers',
} as const;

/** Where topic limits come from (kafka/admin/topic-limits.ts reads them with DescribeConfigs). */
export interface OutputLimits {
  readonly dlqTopic: string;
  /** The topic's max.message.bytes; undefined when unknown (then only the broker's rejection tells). */
  maxMessageBytes(topic: string): number | undefined;
}

/** Record batch v2 header (magic 2): the broker compares the whole batch with max.message.bytes. */
export const RECORD_BATCH_OVERHEAD = 61;
/** Upper bound of one record's framing (length, attributes, timestamp/offset deltas, key/value lengths, header count). */
const RECORD_FRAMING = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Slack for what the estimate cannot see (kafkajs framing details). */
const SAFETY_BYTES = 512;
/** A key longer than this is dropped from a minimal dead letter. */
const MAX_MINIMAL_KEY = 1024;
/** Header values of a minimal dead letter are capped at this many characters. */
const MAX_MINIMAL_HEADER = 1024;

function bytes(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

function headerBytes(headers: IHeaders | undefined): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) n += 10 + Buffer.byteLength(k) + bytes(one);
  }
  return n;
}

/** Upper bound of one record's size inside a record batch (without the batch header). */
export function recordBytes(o: {
  key?: Buffer | string | null;
  value: Buffer | null;
  headers?: IHeaders;
}): number {
  return RECORD_FRAMING + bytes(o.key) + bytes(o.value) + headerBytes(o.headers);
}

/** Bytes a single record needs to be accepted (batch header and safety slack included). */
export function soloRecordBytes(o: Parameters<typeof recordBytes>[0]): number {
  return RECORD_BATCH_OVERHEAD + SAFETY_BYTES + recordBytes(o);
}

function headerText(headers: IHeaders, name: string): string | undefined {
  const v = headers[name];
  const one = Array.isArray(v) ? v[v.length - 1] : v;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
}

export interface FittedOutput {
  readonly output: Outbound;
  /** The output as it was before fitting, or null when it fitted as is. */
  readonly original: Outbound | null;
}

/** An oversized output as a payload-less dead letter (see the module comment). */
function omitPayload(o: Outbound, limit: number, dlqTopic: string): Outbound {
  const payloadBytes = String(bytes(o.value));
  if (o.route === 'DLQ') {
    const originalCode = headerText(o.headers, DLQ_HEADERS.code) ?? '';
    return {
      ...o,
      value: null,
      reason: OVERSIZE_CODES.deadLetter,
      headers: {
        ...o.headers,
        [DLQ_HEADERS.code]: OVERSIZE_CODES.deadLetter,
        [OVERSIZE_HEADERS.originalCode]: originalCode,
        [OVERSIZE_HEADERS.payload]: 'omitted',
        [OVERSIZE_HEADERS.payloadBytes]: payloadBytes,
        [OVERSIZE_HEADERS.limit]: String(limit),
      },
    };
  }
  const s = o.source;
  const error = new PrismError(
    OVERSIZE_CODES.output,
    `the ${o.route} output of ${s.topic}[${s.partition}]@${s.offset} (${payloadBytes} bytes) exceeds max.message.bytes=${limit} of topic ${o.topic}; ` +
      `its payload is omitted here and the original record is still at ${s.topic}[${s.partition}]@${s.offset} (raise max.message.bytes of ${o.topic} to route records this large)`,
  );
  const dl = buildDeadLetter({ ...s, value: null }, error);
  return {
    source: s,
    route: 'DLQ',
    topic: dlqTopic,
    key: o.key,
    value: null,
    reason: OVERSIZE_CODES.output,
    headers: {
      ...dl.headers,
      [OVERSIZE_HEADERS.originalRoute]: o.route,
      [OVERSIZE_HEADERS.payload]: 'omitted',
      [OVERSIZE_HEADERS.payloadBytes]: payloadBytes,
      [OVERSIZE_HEADERS.limit]: String(limit),
    },
  };
}

/** Last resort: only prism's error headers (capped), no input headers, no oversized key. */
function minimal(o: Outbound): Outbound {
  const keep: IHeaders = {};
  for (const [k, v] of Object.entries(o.headers)) {
    if (!k.startsWith('prism.') && !k.startsWith('__streams.errors.')) continue;
    const text = headerText({ [k]: v }, k) ?? '';
    keep[k] = text.length > MAX_MINIMAL_HEADER ? `${text.slice(0, MAX_MINIMAL_HEADER)}...[truncated]` : text;
  }
  keep[OVERSIZE_HEADERS.headers] = 'omitted';
  return { ...o, key: bytes(o.key) > MAX_MINIMAL_KEY ? null : o.key, headers: keep };
}

/**
 * Fits one output to its topic's limit divided by 2^shrink (shrink > 0 after the broker rejected a
 * batch as too large although the estimate said it fits: each retry halves what is assumed to fit).
 */
export function fitOutput(o: Outbound, limits: OutputLimits, shrink = 0): FittedOutput {
  const limitOf = (topic: string): number | undefined => {
    const max = limits.maxMessageBytes(topic);
    return max === undefined ? undefined : Math.floor(max / 2 ** shrink);
  };
  const limit = limitOf(o.topic) ?? (shrink > 0 ? Math.floor(1_048_588 / 2 ** shrink) : undefined);
  if (limit === undefined || soloRecordBytes(o) <= limit) return { output: o, original: null };
  const omitted = omitPayload(o, limits.maxMessageBytes(o.topic) ?? limit, limits.dlqTopic);
  const dlqLimit = limitOf(omitted.topic) ?? limit;
  if (soloRecordBytes(omitted) <= dlqLimit) return { output: omitted, original: o };
  return { output: minimal(omitted), original: o };
}

/**
 * Bytes of records per produce call so that no topic's record batch can exceed its limit (kafkajs
 * puts all messages of one partition in a call into one record batch): at most `cap`.
 */
export function sendBudget(
  outputs: Batch<Outbound>,
  limits: OutputLimits | undefined,
  cap: number,
  shrink = 0,
): number {
  let budget = Math.floor(cap / 2 ** shrink);
  for (const topic of new Set(outputs.map((o) => o.topic))) {
    const max = limits?.maxMessageBytes(topic);
    if (max === undefined) continue;
    budget = Math.min(budget, Math.floor(max / 2 ** shrink) - RECORD_BATCH_OVERHEAD - SAFETY_BYTES);
  }
  return Math.max(budget, 1);
}

/** Every output of a batch fitted (order and one-output-per-input kept). */
export function fitBatch(batch: Batch<Outbound>, limits: OutputLimits, shrink = 0): FittedOutput[] {
  return batch.map((o) => fitOutput(o, limits, shrink));
}

/** The broker refused a record (batch) as too large: MESSAGE_TOO_LARGE (10) or RECORD_LIST_TOO_LARGE (18). */
export function isMessageTooLargeError(err: unknown, depth = 0): boolean {
  if (depth > 5 || typeof err !== 'object' || err === null) return false;
  const e = err as { type?: unknown; originalError?: unknown; cause?: unknown; errors?: unknown };
  if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  const nested = Array.isArray(e.errors) ? (e.errors as unknown[]) : [];
  return (
    isMessageTooLargeError(e.originalError, depth + 1) ||
    isMessageTooLargeError(e.cause, depth + 1) ||
    nested.some((n) => isMessageTooLargeError(n, depth + 1))
  );
}
