import { ConfigError, errorMessage } from '../errors.ts';
import type { Metric } from '../schemas/types.ts';

/** Scores that pre-fill arbitration windows so routing starts without a warm-up. */
export interface CalibrationSeeds {
  /** Plain scores: seed the first window opened (the probe in use at start-up). */
  readonly unversioned: readonly number[];
  /** Scored records: keyed by `modelId@version`, seed only that probe's window. */
  readonly byWindow: ReadonlyMap<string, readonly number[]>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a calibration JSONL: each line is a number, `{"score": x}`, a PrismScores-like object
 * (`{"gini": …}`) or a scored record (`{"prism": {"gini": …, "probe_model_id", "probe_model_version"}}`).
 * Blank lines are skipped. Any other line is a ConfigError naming file and line.
 */
export function parseCalibration(text: string, metric: Metric, source: string): CalibrationSeeds {
  const unversioned: number[] = [];
  const byWindow = new Map<string, number[]>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `${source}:${i + 1}`;
    let doc: Json;
    try {
      doc = JSON.parse(line) as Json;
    } catch (err) {
      throw new ConfigError(`--calibrate: ${where}: not JSON (${errorMessage(err)})`);
    }
    const { value, window } = extract(doc, metric, where);
    if (window === undefined) unversioned.push(value);
    else byWindow.set(window, [...(byWindow.get(window) ?? []), value]);
  });
  if (unversioned.length === 0 && byWindow.size === 0)
    throw new ConfigError(`--calibrate: ${source}: no scores in file`);
  return { unversioned, byWindow };
}

function extract(doc: Json, metric: Metric, where: string): { value: number; window?: string } {
  const finite = (v: Json | undefined, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ConfigError(`--calibrate: ${where}: ${what} must be a finite number`);
    return v;
  };
  if (typeof doc === 'number') return { value: finite(doc, 'score') };
  if (!isObject(doc)) throw new ConfigError(`--calibrate: ${where}: expected a number or an object`);
  const prism = doc.prism;
  if (isObject(prism)) {
    const value = finite(prism[metric], `prism.${metric}`);
    const id = prism.probe_model_id;
    const version = prism.probe_model_version;
    return typeof id === 'string' && typeof version === 'string'
      ? { value, window: `${id}@${version}` }
      : { value };
  }
  if (metric in doc) return { value: finite(doc[metric], metric) };
  if ('score' in doc) return { value: finite(doc.score, 'score') };
  throw new ConfigError(`--calibrate: ${where}: no "${metric}", "score" or "prism.${metric}" field`);
}
