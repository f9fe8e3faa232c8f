import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

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
}

export interface RunningHttpServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** GET /metrics (Prometheus text), /healthz (liveness), /readyz (readiness). Nothing else. */
export async function startHttpServer(o: HttpServerOptions): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    handle(o, req, res).catch((err: unknown) => {
      o.log.error({ err }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 5000;
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
