import { PrismError } from '../errors.ts';

/**
 * - REPORT_ASSET_MISSING: Chart.js is not installed (node_modules/chart.js).
 * - REPORT_WRITE_FAILED: the report file could not be written.
 */
export type ReportErrorCode = 'REPORT_ASSET_MISSING' | 'REPORT_WRITE_FAILED';

export class ReportError extends PrismError {
  declare readonly code: ReportErrorCode;

  constructor(code: ReportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
