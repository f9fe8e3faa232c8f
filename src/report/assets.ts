import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ReportError } from './errors.ts';

let cached: string | undefined;

/**
 * Chart.js's self-contained UMD build (window.Chart), read from node_modules: the report inlines
 * it and the dashboard serves it, so neither needs a CDN (users may be offline).
 */
export function chartJsSource(): string {
  if (cached !== undefined) return cached;
  try {
    // The package exports only its ESM/CJS entry points; the UMD bundle sits next to them in dist/.
    const entry = createRequire(import.meta.url).resolve('chart.js');
    cached = readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8');
  } catch (err) {
    throw new ReportError(
      'REPORT_ASSET_MISSING',
      `cannot read Chart.js (chart.js/dist/chart.umd.min.js): run npm install (${(err as Error).message})`,
      { cause: err },
    );
  }
  return cached;
}
