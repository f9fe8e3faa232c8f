import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';
import { bearerMatches, bodyTooLarge, TokenBucket } from './guard.ts';

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (empty when ready), plus any detail worth showing. */
  readonly reasons: readonly string[];
  readonly detail?: Record<string, unknown>;
}

/** An extra route (e.g. the dashboard): handles the request and returns true, or returns false. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HttpServerOptions {
  /** 127.0.0.1 unless configured otherwise: metrics are not for the whole network by default. */
  readonly host: string;
  /** 0 = a free port. */
  readonly port: number;
  readonly registry: Registry;
  /** Liveness: false once the pipeline has failed for good. */
  readonly healthy: () => boolean;
  readonly readiness: () => Readiness;
  readonly log: Logger;
  /** Tried in order for any other path before the 404. */
  readonly routes?: readonly HttpRoute[];
  /** Bearer token required for /metrics and the extra routes (dashboard); /healthz, /readyz stay open. */
  readonly authToken?: string;
  /** Larger request bodies get 413 (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** Token bucket for the whole server: sustained requests per second and burst (default 50 / 100). */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export interface RunningHttpServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** GET /metrics (Prometheus text), /healthz (liveness), /readyz (readiness). Nothing else. */
export async function startHttpServer(o: HttpServerOptions): Promise<RunningHttpServer> {
  const bucket = new TokenBucket(o.rateLimit?.perSecond ?? 50, o.rateLimit?.burst ?? 100);
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!isLoopback(o.host) && o.authToken === undefined) {
    o.log.warn(
      { host: o.host },
      'http server reachable beyond loopback without http.authTokenFile: /metrics and /dashboard are open',
    );
  }
  const server: Server = createServer((req, res) => {
    if (!bucket.take()) {
      res.writeHead(429, { 'retry-after': String(bucket.retryAfterSeconds()) }).end();
      return;
    }
    if (bodyTooLarge(req, maxBody)) {
      res.writeHead(413, { connection: 'close' }).end();
      req.destroy();
      return;
    }
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBody && !res.headersSent) {
        res.writeHead(413, { connection: 'close' }).end();
        req.destroy();
      }
    });
    const path = (req.url ?? '/').split('?')[0];
    if (
      o.authToken !== undefined &&
      !OPEN_PATHS.has(path) &&
      !bearerMatches(req.headers.authorization, o.authToken)
    ) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="prism"' }).end();
      return;
    }
    handle(o, req, res).catch((err: unknown) => {
      o.log.error({ err }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  // Slow-loris bound: a request must arrive in full within 10 s; headers are capped at 16 KiB.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  o.log.info({ host: o.host, port }, 'http server listening (/metrics, /healthz, /readyz)');
  return {
    host: o.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(o: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  switch (path) {
    case '/metrics': {
      const body = await o.registry.metrics();
      res
        .writeHead(200, { 'content-type': o.registry.contentType })
        .end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    case '/healthz': {
      const ok = o.healthy();
      json(res, ok ? 200 : 503, { status: ok ? 'ok' : 'failed' });
      return;
    }
    case '/readyz': {
      const r = o.readiness();
      json(res, r.ready ? 200 : 503, {
        status: r.ready ? 'ready' : 'not ready',
        reasons: r.reasons,
        ...r.detail,
      });
      return;
    }
    default:
      for (const route of o.routes ?? []) if (route(req, res)) return;
      json(res, 404, { error: 'not found', paths: ['/metrics', '/healthz', '/readyz'] });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
