import { Resvg } from '@resvg/resvg-js';
import { writeFile } from 'node:fs/promises';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { errorMessage } from '../../errors.ts';
import { BenchError } from '../errors.ts';

/**
 * Figures: Vega-Lite spec → Vega → SVG (vega's headless renderer, no canvas package) → PNG with
 * resvg (prebuilt per-platform npm packages, nothing fetched at install). Text uses the system's
 * DejaVu Sans when present (resvg falls back to any installed sans-serif font).
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function writePng(spec: TopLevelSpec, path: string, scale = 2): Promise<void> {
  try {
    const svg = await renderSvg(spec);
    const png = new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'zoom', value: scale },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    })
      .render()
      .asPng();
    await writeFile(path, png);
  } catch (err) {
    throw new BenchError('PLOT_FAILED', `could not render ${path}: ${errorMessage(err)}`, { cause: err });
  }
}
