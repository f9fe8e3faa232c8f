/**
 * The browser side of the report and the live dashboard: one plain ES2017 script that renders a
 * ChartView (see types.ts) with Chart.js, and for the dashboard polls the data endpoint.
 *
 * Why a string: it must reach the browser byte for byte under tsx, vitest and the tsc build alike
 * (a .js asset would not be copied to dist/, and Function#toString picks up transpiler helpers).
 * The Playwright test (tests/integration/dashboard-*.test.ts) is what exercises it.
 * Keep it free of backticks and dollar-brace sequences.
 */
export const CLIENT_JS = `
(function () {
  'use strict';
  var COLORS = { SFT: '#4e79a7', RL: '#f28e2b', rate: '#59a14f', lag: '#e15759', thr: '#d62728' };
  var charts = {};

  function fmt(x, d) {
    return x === null || x === undefined || !isFinite(x) ? 'n/a' : Number(x).toFixed(d === undefined ? 3 : d);
  }
  function pct(x) { return x === null || x === undefined || !isFinite(x) ? 'n/a' : (100 * x).toFixed(1) + '%'; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // Dashed vertical line at the threshold, on the histogram's category axis (bin i spans i-0.5..i+0.5).
  var thresholdPlugin = {
    id: 'prismThreshold',
    afterDatasetsDraw: function (chart, _args, opts) {
      var edges = opts && opts.edges;
      if (!edges || edges.length < 2 || opts.value === null || opts.value === undefined) return;
      var n = edges.length - 1;
      var w = (edges[n] - edges[0]) / n;
      var x = chart.scales.x.getPixelForValue((opts.value - edges[0]) / w - 0.5);
      var area = chart.chartArea;
      var ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = COLORS.thr;
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(x, area.top);
      ctx.lineTo(x, area.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = COLORS.thr;
      ctx.font = '12px sans-serif';
      ctx.textAlign = x > (area.left + area.right) / 2 ? 'right' : 'left';
      ctx.fillText('threshold ' + fmt(opts.value, 4), x + (ctx.textAlign === 'right' ? -6 : 6), area.top + 12);
      ctx.restore();
    }
  };

  function upsert(id, config) {
    var existing = charts[id];
    if (existing) {
      existing.data.labels = config.data.labels;
      config.data.datasets.forEach(function (ds, i) {
        if (existing.data.datasets[i]) {
          existing.data.datasets[i].data = ds.data;
          existing.data.datasets[i].counts = ds.counts;
        } else existing.data.datasets.push(ds);
      });
      existing.options.plugins.prismThreshold = config.options.plugins.prismThreshold;
      existing.update('none');
      return existing;
    }
    var canvas = document.getElementById(id);
    charts[id] = new Chart(canvas, config);
    return charts[id];
  }

  function base(extra) {
    var o = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: 'bottom' } } };
    for (var k in extra) o[k] = extra[k];
    return o;
  }

  function renderScores(v) {
    var h = v.histogram;
    var labels = [];
    for (var i = 0; i + 1 < h.edges.length; i++) labels.push(fmt((h.edges[i] + h.edges[i + 1]) / 2, 3));
    document.getElementById('caption-scores').textContent =
      'Score distribution: ' + v.metric + ' (RL if ' + v.metric + ' > threshold)';
    upsert('chart-scores', {
      type: 'bar',
      data: {
        labels: labels,
        datasets: [
          { label: 'SFT', data: h.sft.slice(), backgroundColor: COLORS.SFT, stack: 'r' },
          { label: 'RL', data: h.rl.slice(), backgroundColor: COLORS.RL, stack: 'r' }
        ]
      },
      options: base({
        plugins: { legend: { position: 'bottom' }, prismThreshold: { value: v.threshold, edges: h.edges } },
        scales: {
          x: { stacked: true, title: { display: true, text: v.metric } },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: 'records' } }
        }
      }),
      plugins: [thresholdPlugin]
    });
  }

  function renderFamilies(v) {
    var f = v.families;
    var box = document.getElementById('box-families');
    box.style.height = Math.max(220, 26 * f.length + 70) + 'px';
    var share = function (c, key) { var n = c.sft + c.rl; return n === 0 ? 0 : (100 * c[key]) / n; };
    upsert('chart-families', {
      type: 'bar',
      data: {
        labels: f.map(function (c) { return c.family; }),
        datasets: [
          { label: 'SFT %', data: f.map(function (c) { return share(c, 'sft'); }), counts: f.map(function (c) { return c.sft; }), backgroundColor: COLORS.SFT, stack: 'r' },
          { label: 'RL %', data: f.map(function (c) { return share(c, 'rl'); }), counts: f.map(function (c) { return c.rl; }), backgroundColor: COLORS.RL, stack: 'r' }
        ]
      },
      options: base({
        indexAxis: 'y',
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { label: function (ctx) {
            return ctx.dataset.label + ': ' + fmt(ctx.parsed.x, 1) + ' (' + ctx.dataset.counts[ctx.dataIndex] + ' records)';
          } } }
        },
        scales: { x: { stacked: true, min: 0, max: 100, title: { display: true, text: '% of family' } }, y: { stacked: true } }
      })
    });
  }

  function renderThroughput(v) {
    var s = v.series;
    var t0 = s.length > 0 ? s[0].t : 0;
    var rate = s.map(function (p) { return { x: (p.t - t0) / 1000, y: p.recordsPerSec }; });
    var lag = s.filter(function (p) { return p.lag !== null; }).map(function (p) { return { x: (p.t - t0) / 1000, y: p.lag }; });
    document.getElementById('empty-throughput').hidden = s.length > 0;
    upsert('chart-throughput', {
      type: 'line',
      data: {
        datasets: [
          { label: 'records/s', data: rate, borderColor: COLORS.rate, backgroundColor: COLORS.rate, yAxisID: 'y', pointRadius: s.length > 60 ? 0 : 2, tension: 0 },
          { label: 'lag (records)', data: lag, borderColor: COLORS.lag, backgroundColor: COLORS.lag, yAxisID: 'y1', pointRadius: s.length > 60 ? 0 : 2, tension: 0 }
        ]
      },
      options: base({
        parsing: false,
        scales: {
          x: { type: 'linear', title: { display: true, text: 'seconds since first sample' } },
          y: { beginAtZero: true, position: 'left', title: { display: true, text: 'records/s' } },
          y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'lag (records)' } }
        }
      })
    });
  }

  function renderKpis(v) {
    var k = document.getElementById('kpis');
    clear(k);
    var items = [
      ['records', v.totals.records],
      ['SFT', v.totals.sft],
      ['RL', v.totals.rl],
      ['RL share', v.totals.records === 0 ? 'n/a' : pct(v.totals.rl / v.totals.records)],
      ['metric', v.metric],
      ['threshold', fmt(v.threshold, 4)]
    ];
    items.forEach(function (it) {
      var d = el('div', null, 'kpi');
      d.appendChild(el('span', it[0], 'kpi-name'));
      d.appendChild(el('span', it[1], 'kpi-value'));
      k.appendChild(d);
    });
  }

  function renderEval(v) {
    var sec = document.getElementById('eval');
    var ev = v.evaluation;
    sec.hidden = !ev;
    if (!ev) return;
    var r = ev.result;
    document.getElementById('eval-label').textContent =
      'Positive class: ' + ev.label + '. ' + r.n + ' records (' + r.positives + ' positive, ' + r.negatives +
      ' negative). Median split per router; RL = predicted positive. Random router seed ' + r.seed +
      '; the length router scores by response tokens (a confound check).';
    var table = document.getElementById('eval-table');
    clear(table);
    var head = ['metric', 'router', 'n', 'AUC', '\\u00b1se', 'TP', 'FP', 'FN', 'TN', 'TPR', 'FPR', 'precision', 'accuracy', 'RL share'];
    var thead = el('thead');
    var hr = el('tr');
    head.forEach(function (h) { hr.appendChild(el('th', h)); });
    thead.appendChild(hr);
    table.appendChild(thead);
    var tbody = el('tbody');
    r.rows.forEach(function (row) {
      var c = row.confusion;
      var tr = el('tr', null, 'router-' + row.router);
      [row.metric || '-', row.router, row.n, fmt(row.auc), fmt(row.aucSe), c.tp, c.fp, c.fn, c.tn,
        fmt(c.tpr), fmt(c.fpr), fmt(c.precision), fmt(c.accuracy), fmt(c.rlShare)].forEach(function (x, i) {
        tr.appendChild(el('td', x, i < 2 ? 'txt' : 'num'));
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
  }

  function render(v) {
    document.getElementById('title').textContent = v.title;
    document.title = v.title;
    var notes = document.getElementById('notes');
    clear(notes);
    (v.notes || []).forEach(function (n) { notes.appendChild(el('li', n)); });
    renderKpis(v);
    renderScores(v);
    renderFamilies(v);
    renderThroughput(v);
    renderEval(v);
    document.getElementById('updated').textContent = 'data as of ' + new Date(v.generatedAt).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  function poll(url, ms) {
    var status = document.getElementById('status');
    var next = function () { setTimeout(function () { poll(url, ms); }, ms); };
    fetch(url, { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (v) { render(v); status.textContent = 'live, refreshing every ' + Math.round(ms / 1000) + ' s'; status.className = 'ok'; })
      .catch(function (e) { status.textContent = 'cannot reach the data endpoint (' + e.message + '); retrying'; status.className = 'bad'; })
      .then(next);
  }

  function boot() {
    var embedded = document.getElementById('prism-data');
    if (embedded) render(JSON.parse(embedded.textContent));
    var src = document.body.getAttribute('data-source');
    if (src) poll(src, Number(document.body.getAttribute('data-refresh-ms')) || 3000);
  }

  window.PRISM = { render: render, charts: charts };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
`;
