/**
 * `prism bench padding`: how much compute padding costs the tfjs scorer, as MODELLED COUNTS (token slots and
 * FLOPs from the model shape), not timings. Pure: lengths in, counts out.
 *
 * A stream of sequence lengths arrives in micro-batches (the records one scoreBatch call gets). Each
 * micro-batch is cut into passes (buckets) by the scorer's own code (src/scorer/buckets.ts), and every
 * strategy is charged for the rows it computes:
 *   arrival      the scorer's split without sorting: rows padded to their pass's longest row;
 *   sorted       what the scorer does (lengthBuckets): sorted by length, then split;
 *   packed       each sorted pass packed ideally (first-fit decreasing) into rows of that pass's T,
 *                attention confined to each segment (positions restart per segment);
 *   packed-mb    the whole micro-batch packed (FFD) into rows of its longest sequence;
 *   no-padding   the lower bound: every sequence alone, nothing padded.
 * Counts per strategy: passes, rows, token slots (rows × row length), real tokens, and
 *   linear FLOPs     = 6·P·slots   (the layer-wise engine: forward, recomputed forward, backward to
 *                                   activations, 2·P each; P = Σ in·out of the 7L projections)
 *   attention FLOPs  = 4·a·Σ s²    (forward, recomputed forward, backward 2×; a = 4·L·H·hd as in
 *                                   src/scorer/flops.ts), s = each row's length when padded, each
 *                                   segment's length when packed (a packed row's unused tail counts
 *                                   as one more segment).
 * Not counted: the LM head and loss (run on target positions only, the same for every strategy), the
 * per-example norm products, and elementwise ops.
 */
import { lengthBuckets, splitIntoBuckets, type BucketLimits } from '../scorer/buckets.ts';

export const PADDING_STRATEGIES = ['arrival', 'sorted', 'packed', 'packed-mb', 'no-padding'] as const;
export type PaddingStrategy = (typeof PADDING_STRATEGIES)[number];

/** The two size terms of the FLOP count (src/scorer/flops.ts flopTerms). */
export interface FlopCoefficients {
  readonly projectionParams: number;
  readonly attentionPerSquaredLength: number;
}

export interface StrategyCounts {
  strategy: PaddingStrategy;
  passes: number;
  rows: number;
  /** Positions computed: Σ over rows of the row length. */
  slots: number;
  /** Positions that hold a real token. */
  tokens: number;
  /** Σ over attention spans (rows when padded, segments when packed) of span². */
  attentionSquares: number;
  linearFlops: number;
  attentionFlops: number;
  flops: number;
}

export interface PaddingReport {
  microBatches: number;
  sequences: number;
  tokens: number;
  strategies: StrategyCounts[];
}

/** Rows of first-fit-decreasing packing of `lengths` (each ≤ rowLength) into rows of rowLength. Pure. */
export function packFirstFitDecreasing(lengths: readonly number[], rowLength: number): number[][] {
  const rows: { used: number; segments: number[] }[] = [];
  for (const len of [...lengths].sort((a, b) => b - a)) {
    if (len > rowLength) throw new RangeError(`a sequence of ${len} does not fit a row of ${rowLength}`);
    const row = rows.find((r) => rowLength - r.used >= len);
    if (row === undefined) rows.push({ used: len, segments: [len] });
    else {
      row.used += len;
      row.segments.push(len);
    }
  }
  return rows.map((r) => r.segments);
}

interface Tally {
  passes: number;
  rows: number;
  slots: number;
  tokens: number;
  attentionSquares: number;
}

const empty = (): Tally => ({ passes: 0, rows: 0, slots: 0, tokens: 0, attentionSquares: 0 });
const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);

/** Padded passes: every row of a pass is as long as its longest (capped at maxSeqLen). */
function addPadded(t: Tally, passes: readonly number[][], maxSeqLen: number): void {
  for (const pass of passes) {
    const T = Math.min(Math.max(...pass), maxSeqLen);
    t.passes += 1;
    t.rows += pass.length;
    t.slots += pass.length * T;
    t.tokens += sum(pass.map((l) => Math.min(l, maxSeqLen)));
    t.attentionSquares += pass.length * T * T;
  }
}

/** Packed rows of length T: segments attend within themselves; a row's unused tail is one more segment. */
function addPacked(t: Tally, lengths: readonly number[], T: number): void {
  const rows = packFirstFitDecreasing(lengths, T);
  t.rows += rows.length;
  t.slots += rows.length * T;
  for (const segments of rows) {
    const tail = T - sum(segments);
    t.tokens += sum(segments);
    t.attentionSquares += sum(segments.map((s) => s * s)) + tail * tail;
  }
}

function tallyMicroBatch(
  lengths: readonly number[],
  limits: BucketLimits,
  into: Record<PaddingStrategy, Tally>,
): void {
  const capped = lengths.map((l) => Math.min(l, limits.maxSeqLen));
  const id = (l: number): number => l;
  addPadded(into.arrival, splitIntoBuckets(capped, id, limits), limits.maxSeqLen);
  const sorted = lengthBuckets(capped, id, limits);
  addPadded(into.sorted, sorted, limits.maxSeqLen);
  for (const pass of sorted) {
    into.packed.passes += 1;
    addPacked(into.packed, pass, Math.max(...pass));
  }
  into['packed-mb'].passes += sorted.length; // FLOPs do not depend on how packed rows are grouped
  addPacked(into['packed-mb'], capped, Math.max(...capped));
  const ideal = into['no-padding'];
  ideal.passes += sorted.length;
  ideal.rows += capped.length;
  ideal.slots += sum(capped);
  ideal.tokens += sum(capped);
  ideal.attentionSquares += sum(capped.map((l) => l * l));
}

/**
 * Counts for every strategy over `microBatches` (lengths of the records each scoreBatch call gets, in
 * arrival order), cut into passes with `limits` and charged with `flops`. Pure.
 */
export function paddingReport(
  microBatches: readonly (readonly number[])[],
  limits: BucketLimits,
  flops: FlopCoefficients,
): PaddingReport {
  const tallies = Object.fromEntries(PADDING_STRATEGIES.map((s) => [s, empty()])) as Record<
    PaddingStrategy,
    Tally
  >;
  const nonEmpty = microBatches.filter((mb) => mb.length > 0);
  for (const mb of nonEmpty) tallyMicroBatch(mb, limits, tallies);
  return {
    microBatches: nonEmpty.length,
    sequences: sum(nonEmpty.map((mb) => mb.length)),
    tokens: tallies['no-padding'].tokens,
    strategies: PADDING_STRATEGIES.map((strategy) => {
      const t = tallies[strategy];
      const linearFlops = 6 * flops.projectionParams * t.slots;
      const attentionFlops = 4 * flops.attentionPerSquaredLength * t.attentionSquares;
      return { strategy, ...t, linearFlops, attentionFlops, flops: linearFlops + attentionFlops };
    }),
  };
}

/** Cuts an arrival-ordered list into micro-batches of `size` (the last may be shorter). Pure. */
export function intoMicroBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const fmt = (n: number): string => (n >= 1e6 ? n.toExponential(3) : String(n));
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;

/** The report as a table, with each strategy's FLOPs against `packed` and `packed-mb`. */
export function paddingTable(r: PaddingReport): string {
  const by = (s: PaddingStrategy): StrategyCounts =>
    r.strategies.find((x) => x.strategy === s) as StrategyCounts;
  const packed = by('packed').flops;
  const packedMb = by('packed-mb').flops;
  const head = [
    'strategy',
    'passes',
    'rows',
    'slots',
    'padding',
    'linear FLOPs',
    'attention FLOPs',
    'FLOPs',
    'vs packed',
    'vs packed-mb',
  ];
  const rows = r.strategies.map((s) => [
    s.strategy,
    String(s.passes),
    String(s.rows),
    String(s.slots),
    `${((100 * (s.slots - s.tokens)) / s.slots).toFixed(1)} %`,
    fmt(s.linearFlops),
    fmt(s.attentionFlops),
    fmt(s.flops),
    pct(s.flops / packed - 1),
    pct(s.flops / packedMb - 1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i])).join('  ');
  return [
    `MODELLED counts (token slots and FLOPs from the model shape), not timings: ${r.sequences} sequences, ` +
      `${r.tokens} tokens, ${r.microBatches} micro-batches`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}
