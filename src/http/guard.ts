import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Secret } from '../config/secret.ts';
import { ConfigError, errorMessage } from '../errors.ts';

/**
 * Request guards of the HTTP server: bearer-token check (constant time), request-size bound and
 * a token bucket per server. Pure functions/classes so they unit-test without sockets.
 */

/** `http.authToken` (PRISM_HTTP_AUTH_TOKEN) or the content of `http.authTokenFile`; undefined = no auth. */
export function resolveAuthToken(c: { authToken?: Secret; authTokenFile?: string }): string | undefined {
  if (c.authToken !== undefined) return c.authToken.reveal();
  if (c.authTokenFile === undefined) return undefined;
  let token: string;
  try {
    token = readFileSync(c.authTokenFile, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(
      `invalid config: http.authTokenFile: cannot read ${c.authTokenFile} (${errorMessage(err)})`,
      { cause: err },
    );
  }
  if (token.length < 16)
    throw new ConfigError(
      `invalid config: http.authTokenFile: ${c.authTokenFile} holds fewer than 16 characters`,
    );
  return token;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** True if `header` is `Bearer <expected>`; compares fixed-size digests so timing says nothing. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = m?.[1] ?? '';
  const ok = timingSafeEqual(digest(given), digest(expected));
  return ok && m !== null;
}

/** The declared body size (Content-Length) exceeds `max`; streamed bodies are counted by the server. */
export function bodyTooLarge(req: Pick<IncomingMessage, 'headers'>, max: number): boolean {
  const len = Number(req.headers['content-length'] ?? 0);
  return !Number.isFinite(len) || len > max;
}

/** Token bucket: `burst` requests at once, refilled at `perSecond`; `take()` false → 429. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Seconds until the next token (for Retry-After). */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}
