import type { TopLevelSpec } from 'vega-lite';
import { describeMachine, type RunMeta } from '../machine.ts';
import type { PipelineResult } from '../pipeline/run.ts';
import type { SweepResult } from '../scorer-sweep.ts';
import type { SoakResult } from '../soak.ts';
import type { TorchResult } from '../torch.ts';

/** Vega-Lite specs of the BENCHMARKS.md figures. Every figure's subtitle names machine, backend, command and date. */

function wrap(text: string, width = 120): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line !== '' && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

export function caption(meta: RunMeta, backend: string): string[] {
  const date = meta.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return [
    ...wrap(`${describeMachine(meta.machine)} · backend ${backend}`),
    ...wrap(`$ ${meta.command}`),
    `${date} · load ${meta.loadStart[0]} → ${meta.loadEnd[0]} (1-min avg)${meta.quick ? ' · QUICK RUN (subset)' : ''}${meta.commit ? ` · ${meta.commit}` : ''}`,
  ];
}

function title(text: string, meta: RunMeta, backend: string): TopLevelSpec['title'] {
  return {
    text,
    subtitle: caption(meta, backend),
    anchor: 'start',
    fontSize: 15,
    subtitleFontSize: 10,
    subtitleColor: '#555',
    offset: 12,
  };
}

const PATH_LABEL: Record<string, string> = {
  batched: 'PRISM batched (ours)',
  'per-trajectory': 'per-trajectory loop, projection grads',
  reference: 'paper loop, full backward',
  'train-step': 'one training step (all grads)',
};

/** Tokens/s and share of the fp32 ceiling per path and configuration, one column per preset. */
export function sweepFigure(r: SweepResult): TopLevelSpec {
  const values = r.rows.flatMap((row) =>
    row.bench.rows
      .filter((x) => x.name !== 'auto')
      .map((x) => ({
        preset: row.preset,
        config: `${row.batch}×${row.seq}`,
        order: row.seq * 1000 + row.batch,
        path: PATH_LABEL[x.name] ?? x.name,
        tokensPerSec: x.tokensPerSec,
        ceilingPct: r.ceiling === null ? null : (100 * x.gflopPerSec) / r.ceiling.gflops,
      })),
  );
  const color = {
    field: 'path',
    type: 'nominal' as const,
    title: null,
    legend: { orient: 'bottom' as const, columns: 2, labelLimit: 400 },
  };
  const x = {
    field: 'config',
    type: 'ordinal' as const,
    title: 'batch × seq',
    sort: { field: 'order' },
    axis: { labelAngle: 0 },
  };
  const column = { field: 'preset', title: null, sort: ['tiny', 'small'] };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: title(
      `PRISM scorer sweep — tokens/s and % of the fp32 matmul ceiling (${r.ceiling === null ? 'not measured' : `${r.ceiling.gflops.toFixed(0)} GFLOP/s`})`,
      r.meta,
      `${r.backend.kind}, ${r.threads} thread(s)`,
    ),
    data: { values },
    vconcat: [
      {
        facet: { column },
        spec: {
          width: 330,
          height: 200,
          mark: { type: 'line', point: true },
          encoding: {
            x,
            y: {
              field: 'tokensPerSec',
              type: 'quantitative',
              title: 'tokens/s (log)',
              scale: { type: 'log' },
            },
            color,
          },
        },
        resolve: { scale: { x: 'independent' } },
      },
      {
        facet: { column },
        spec: {
          width: 330,
          height: 160,
          mark: { type: 'line', point: true },
          encoding: {
            x,
            y: { field: 'ceilingPct', type: 'quantitative', title: '% of ceiling (achieved GFLOP/s)' },
            color,
          },
        },
        resolve: { scale: { x: 'independent' } },
      },
    ],
  } as TopLevelSpec;
}

const COLUMN_LABEL: Record<string, string> = {
  plain: 'plain kafkajs txn loop',
  noop: 'prism run, noop scorer',
  tiny: 'prism run, tiny model',
};

/** records/s and p50/p99 latency per column, plus RSS over time. */
export function pipelineFigure(r: PipelineResult): TopLevelSpec {
  const columns = r.columns.map((c) => ({
    column: COLUMN_LABEL[c.name] ?? c.name,
    rate: c.drain.recordsPerSec,
  }));
  const lat = r.columns.flatMap((c) => [
    { column: COLUMN_LABEL[c.name] ?? c.name, stat: 'p50', ms: c.latency.p50 },
    { column: COLUMN_LABEL[c.name] ?? c.name, stat: 'p99', ms: c.latency.p99 },
  ]);
  const rss = r.columns.flatMap((c) =>
    c.rss.map((s) => ({
      column: COLUMN_LABEL[c.name] ?? c.name,
      seconds: s.t / 1000,
      mib: s.rssBytes / 2 ** 20,
    })),
  );
  const tiny =
    r.columns.find((c) => c.name === 'tiny')?.notes.find((n) => n.startsWith('tfjs backend')) ??
    'tfjs backend of the tiny column';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: title(
      'Pipeline — records/s, end-to-end latency (append → committed output visible) and RSS',
      r.meta,
      `${tiny.replace('tfjs backend: ', '')} (tiny column); broker ${r.broker.version ?? 'external'}`,
    ),
    hconcat: [
      {
        data: { values: columns },
        width: 220,
        height: 220,
        encoding: {
          y: { field: 'column', type: 'nominal', title: null, sort: null },
          x: { field: 'rate', type: 'quantitative', title: 'records/s, warm drain' },
        },
        layer: [
          { mark: 'bar', encoding: { color: { field: 'column', type: 'nominal', legend: null } } },
          {
            mark: { type: 'text', align: 'left', dx: 3 },
            encoding: { text: { field: 'rate', type: 'quantitative', format: '.3~s' } },
          },
        ],
      },
      {
        data: { values: lat },
        width: 220,
        height: 220,
        encoding: {
          y: { field: 'column', type: 'nominal', title: null, sort: null },
          yOffset: { field: 'stat' },
          x: {
            field: 'ms',
            type: 'quantitative',
            title: `e2e latency ms at ${Math.round(r.settings.latencyLoad * 100)} % of drain rate`,
          },
        },
        layer: [
          {
            mark: 'bar',
            encoding: {
              color: {
                field: 'stat',
                type: 'nominal',
                title: null,
                scale: { range: ['#7aa6d6', '#1f4e89'] },
              },
            },
          },
          {
            mark: { type: 'text', align: 'left', dx: 3, fontSize: 9 },
            encoding: { text: { field: 'ms', type: 'quantitative', format: '.0f' } },
          },
        ],
      },
      {
        data: { values: rss },
        width: 260,
        height: 220,
        mark: 'line',
        encoding: {
          x: { field: 'seconds', type: 'quantitative', title: 's since process start' },
          y: { field: 'mib', type: 'quantitative', title: 'RSS MiB' },
          color: {
            field: 'column',
            type: 'nominal',
            title: null,
            legend: { orient: 'bottom', columns: 1, labelLimit: 400 },
          },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}

/** RSS, live tensors and latency over the soak. */
export function soakFigure(r: SoakResult): TopLevelSpec {
  const samples = r.samples.map((s) => ({
    minutes: s.t / 60,
    rss: s.rssBytes / 2 ** 20,
    tensors: s.tensors,
    heap: s.heapUsedBytes === null ? null : s.heapUsedBytes / 2 ** 20,
  }));
  const half = r.latencyOverTime.bucketSeconds / 2;
  const lat = r.latencyOverTime.buckets.flatMap((b) => [
    { minutes: (b.t + half) / 60, stat: 'p50', ms: b.p50 },
    { minutes: (b.t + half) / 60, stat: 'p99', ms: b.p99 },
  ]);
  const backend = r.notes.find((n) => n.startsWith('tfjs backend'))?.replace('tfjs backend: ', '') ?? '?';
  const panel = (field: string, label: string, format?: string) => ({
    data: { values: samples },
    width: 700,
    height: 130,
    mark: { type: 'line' as const, point: samples.length < 80 },
    encoding: {
      x: { field: 'minutes', type: 'quantitative' as const, title: 'minutes' },
      y: {
        field,
        type: 'quantitative' as const,
        title: label,
        scale: { zero: false },
        axis: format === undefined ? {} : { format, tickMinStep: 1 },
      },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: title(
      `Soak — prism run, tiny model, ${r.settings.rate.toFixed(1)} records/s for ${r.settings.minutes} min`,
      r.meta,
      backend,
    ),
    vconcat: [
      panel('rss', 'RSS MiB'),
      panel('tensors', 'live tfjs tensors', 'd'),
      panel('heap', 'JS heap used MiB'),
      {
        data: { values: lat },
        width: 700,
        height: 130,
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'minutes',
            type: 'quantitative',
            title: `minutes (input append time, ${r.latencyOverTime.bucketSeconds} s buckets)`,
          },
          y: { field: 'ms', type: 'quantitative', title: 'e2e latency ms' },
          color: { field: 'stat', type: 'nominal', title: null },
        },
      },
    ],
  } as TopLevelSpec;
}

/** trajectories/s: PyTorch's paper loop vs ours. */
export function torchFigure(r: TorchResult): TopLevelSpec {
  const values = r.rows.flatMap((row) => {
    const model = `${row.preset}, ${row.threads} thread${row.threads === 1 ? '' : 's'}`;
    return [
      { model, impl: 'PyTorch paper loop (transformers)', tps: row.torch.trajectoriesPerSec },
      { model, impl: 'ours: paper loop (tfjs)', tps: row.ours.reference },
      { model, impl: 'ours: PRISM batched', tps: row.ours.batched },
    ];
  });
  const t = r.rows[0]?.torch;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: title(
      `PRISM scores per second — PyTorch ${t?.torch ?? '?'} vs prism-stream (same threads, B ${r.rows[0]?.batch ?? '?'} × T ${r.rows[0]?.seq ?? '?'})`,
      r.meta,
      `${r.backend.kind} vs torch CPU`,
    ),
    data: { values },
    width: 520,
    height: 200,
    encoding: {
      y: { field: 'model', type: 'nominal', title: null, sort: null },
      yOffset: { field: 'impl' },
      x: { field: 'tps', type: 'quantitative', title: 'trajectories/s' },
    },
    layer: [
      {
        mark: 'bar',
        encoding: {
          color: {
            field: 'impl',
            type: 'nominal',
            title: null,
            legend: { orient: 'bottom', columns: 3, labelLimit: 400 },
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 9 },
        encoding: { text: { field: 'tps', type: 'quantitative', format: '.3~r' } },
      },
    ],
  } as TopLevelSpec;
}
