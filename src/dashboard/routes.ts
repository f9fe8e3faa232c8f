import type { IncomingMessage, ServerResponse } from 'node:http';
import { chartJsSource } from '../report/assets.ts';
import { CLIENT_JS } from '../report/client.ts';
import { livePage } from '../report/page.ts';
import type { LiveCollector } from './collector.ts';

/** Handles the request and returns true, or returns false to let the next handler try. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface DashboardRouteOptions {
  /** Default /dashboard. */
  readonly basePath?: string;
  /** How often the page polls the data endpoint. Default 3000 ms. */
  readonly refreshMs?: number;
  /** Also answer GET / with a redirect to the dashboard. Default true. */
  readonly redirectRoot?: boolean;
  readonly title?: string;
}

// Everything comes from this server: no CDN, no inline script, no third-party connection.
const CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/**
 * The live dashboard's HTTP routes, for the arbitrator's server (src/http/server.ts `routes`):
 *   GET {base}, {base}/       the page (polls {base}/data every refreshMs)
 *   GET {base}/data           the collector's ChartView as JSON
 *   GET {base}/chart.js       Chart.js (UMD, from node_modules)
 *   GET {base}/app.js         the page script
 *   GET /                     302 → {base}/ (unless redirectRoot is false)
 */
export function dashboardRoutes(collector: LiveCollector, opts: DashboardRouteOptions = {}): RouteHandler {
  const base = (opts.basePath ?? '/dashboard').replace(/\/+$/, '');
  const page = livePage({
    title: opts.title ?? 'prism-stream live routing',
    chartJsUrl: `${base}/chart.js`,
    clientJsUrl: `${base}/app.js`,
    dataUrl: `${base}/data`,
    refreshMs: opts.refreshMs ?? 3000,
  });
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    type: string,
    body: string,
    cache: string,
    extra: Record<string, string> = {},
  ): true => {
    res.writeHead(200, {
      'content-type': type,
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' && opts.redirectRoot !== false) {
      res.writeHead(302, { location: `${base}/` }).end();
      return true;
    }
    switch (path) {
      case base:
      case `${base}/`:
        return send(req, res, 'text/html; charset=utf-8', page, 'no-store', {
          'content-security-policy': CSP,
        });
      case `${base}/data`:
        return send(req, res, 'application/json', JSON.stringify(collector.view()), 'no-store');
      case `${base}/chart.js`:
        return send(
          req,
          res,
          'application/javascript; charset=utf-8',
          chartJsSource(),
          'public, max-age=3600',
        );
      case `${base}/app.js`:
        return send(req, res, 'application/javascript; charset=utf-8', CLIENT_JS, 'public, max-age=300');
      default:
        return false;
    }
  };
}
