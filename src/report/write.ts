import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { chartJsSource } from './assets.ts';
import { CLIENT_JS } from './client.ts';
import { ReportError } from './errors.ts';
import { staticPage } from './page.ts';
import type { RunSummary } from './types.ts';
import { summaryView } from './view.ts';

/** The report as one self-contained HTML string (Chart.js and data inline; works offline). */
export function reportHtml(summary: RunSummary): string {
  return staticPage(summaryView(summary), chartJsSource(), CLIENT_JS);
}

/** Writes the self-contained HTML report to `path` (parent folders created). */
export async function writeReport(summary: RunSummary, path: string): Promise<void> {
  const html = reportHtml(summary);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, html, 'utf8');
  } catch (err) {
    throw new ReportError(
      'REPORT_WRITE_FAILED',
      `cannot write the report to ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
