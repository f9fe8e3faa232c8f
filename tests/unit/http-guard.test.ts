import { Registry } from 'prom-client';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerMatches, bodyTooLarge, TokenBucket } from '../../src/http/guard.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server.ts';

const TOKEN = 'a-long-enough-bearer-token-123';

describe('bearerMatches', () => {
  it('accepts exactly "Bearer <token>" and nothing else', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
    expect(bearerMatches('Bearer ', TOKEN)).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then refuses until time refills it', () => {
    let now = 0;
    const b = new TokenBucket(2, 3, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    now += 500; // one token at 2/s
    expect([b.take(), b.take()]).toEqual([true, false]);
    expect(b.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
  });
});

describe('bodyTooLarge', () => {
  it('flags a declared length over the limit and a malformed one', () => {
    expect(bodyTooLarge({ headers: { 'content-length': '65537' } }, 65_536)).toBe(true);
    expect(bodyTooLarge({ headers: { 'content-length': '10' } }, 65_536)).toBe(false);
    expect(bodyTooLarge({ headers: {} }, 65_536)).toBe(false);
    expect(bodyTooLarge({ headers: { 'content-length': 'abc' } }, 65_536)).toBe(true);
  });
});

describe('HTTP server guards', () => {
  let server: RunningHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (o: { authToken?: string; rateLimit?: { perSecond: number; burst: number } }) => {
    const registry = new Registry();
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      healthy: () => true,
      readiness: () => ({ ready: true, reasons: [] }),
      log: pino({ level: 'silent' }),
      routes: [
        (req, res) => {
          if (req.url !== '/dashboard') return false;
          res.writeHead(200).end('dash');
          return true;
        },
      ],
      ...o,
    });
    return `http://127.0.0.1:${server.port}`;
  };

  it('requires the bearer token for /metrics and /dashboard but not for /healthz and /readyz', async () => {
    const base = await start({ authToken: TOKEN });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/dashboard`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );
    expect((await fetch(`${base}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('answers 429 once the token bucket is empty', async () => {
    const base = await start({ rateLimit: { perSecond: 0.001, burst: 2 } });
    const codes = [];
    for (let i = 0; i < 3; i += 1) codes.push((await fetch(`${base}/healthz`)).status);
    expect(codes).toEqual([200, 200, 429]);
  });

  it('answers 413 to a request body over 64 KiB', async () => {
    const base = await start({});
    const res = await fetch(`${base}/metrics`, { method: 'POST', body: Buffer.alloc(70 * 1024) });
    expect(res.status).toBe(413);
  });
});
