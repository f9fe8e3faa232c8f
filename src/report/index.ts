export { writeReport, reportHtml } from './write.ts';
export { summaryView, histogram, familyCounts } from './view.ts';
export { chartJsSource } from './assets.ts';
export { CLIENT_JS } from './client.ts';
export { livePage, staticPage, jsonForScript, scriptSafe } from './page.ts';
export { ReportError, type ReportErrorCode } from './errors.ts';
export type { ChartView, RateSample, RoutedRecord, RunSummary } from './types.ts';
