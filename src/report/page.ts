import type { ChartView } from './types.ts';

const CSS = `
  :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; background: #fafafa; }
  body { margin: 0 auto; max-width: 1280px; padding: 16px 24px 48px; }
  h1 { font-size: 1.5rem; margin: 0 0 4px; }
  h2 { font-size: 1.15rem; margin: 24px 0 8px; }
  #updated, #notes { color: #666; font-size: 0.85rem; }
  #notes { margin: 4px 0 0; padding-left: 18px; }
  #status { font-size: 0.85rem; margin-top: 4px; }
  #status.ok { color: #2e7d32; } #status.bad { color: #c62828; }
  .kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
  .kpi { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 90px; }
  .kpi-name { display: block; color: #666; font-size: 0.75rem; text-transform: uppercase; letter-spacing: 0.04em; }
  .kpi-value { display: block; font-size: 1.25rem; font-variant-numeric: tabular-nums; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  figure { margin: 0; background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; }
  figure.wide { grid-column: 1 / -1; }
  figcaption { font-weight: 600; margin-bottom: 6px; }
  .box { position: relative; height: 300px; }
  .empty { color: #888; font-size: 0.85rem; }
  table { border-collapse: collapse; background: #fff; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
  th, td { border: 1px solid #ddd; padding: 4px 8px; }
  th { background: #f0f0f0; } td.num { text-align: right; } tr.router-prism td { font-weight: 600; }
  tr.router-random td, tr.router-length td { color: #666; font-style: italic; }
  @media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
`;

const BODY = `
<header>
  <h1 id="title">prism-stream</h1>
  <div id="updated"></div>
  <div id="status"></div>
  <ul id="notes"></ul>
</header>
<section id="kpis" class="kpis"></section>
<div class="grid">
  <figure><figcaption id="caption-scores">Score distribution</figcaption><div class="box"><canvas id="chart-scores"></canvas></div></figure>
  <figure><figcaption>Route share per family</figcaption><div class="box" id="box-families"><canvas id="chart-families"></canvas></div></figure>
  <figure class="wide"><figcaption>Throughput and lag over time</figcaption><div class="empty" id="empty-throughput" hidden>no samples yet</div><div class="box"><canvas id="chart-throughput"></canvas></div></figure>
</div>
<section id="eval" hidden>
  <h2>Routing evaluation</h2>
  <p id="eval-label"></p>
  <table id="eval-table"></table>
</section>
`;

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** Script text safe inside <script>: no "</script" or "<!--" can close or confuse the element. */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** JSON safe inside <script type="application/json">: every "<" escaped. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A self-contained page: Chart.js, the client and the data all inline (the HTML report). */
export function staticPage(view: ChartView, chartJs: string, clientJs: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(view.title)}</title>
<style>${CSS}</style>
</head>
<body>
${BODY}
<script type="application/json" id="prism-data">${jsonForScript(view)}</script>
<script>${scriptSafe(chartJs)}</script>
<script>${scriptSafe(clientJs)}</script>
</body>
</html>
`;
}

/** The live dashboard page: scripts served by our own server, data polled from `dataUrl`. */
export function livePage(opts: {
  title: string;
  chartJsUrl: string;
  clientJsUrl: string;
  dataUrl: string;
  refreshMs: number;
}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(opts.title)}</title>
<style>${CSS}</style>
</head>
<body data-source="${escapeHtml(opts.dataUrl)}" data-refresh-ms="${opts.refreshMs}">
${BODY}
<script src="${escapeHtml(opts.chartJsUrl)}"></script>
<script src="${escapeHtml(opts.clientJsUrl)}"></script>
</body>
</html>
`;
}
