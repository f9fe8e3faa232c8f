import type { LabelSpec } from './labels.ts';
import type { RoutingEvaluation } from './routing.ts';

/** What `prism eval routing --out` writes (and what the HTML report's eval table reads). */
export interface EvalRoutingReport {
  readonly kind: 'prism.eval.routing/1';
  readonly input: string;
  readonly probe: { readonly modelId: string; readonly version: string; readonly backend: string };
  readonly label: LabelSpec & { readonly rule: string };
  readonly counts: {
    /** Lines/records read from the input. */
    readonly read: number;
    /** Undecodable or invalid records. */
    readonly invalid: number;
    /** Records the scorer rejected (e.g. NO_TARGET_TOKENS). */
    readonly scoringFailed: number;
    /** Scored records without the label key. */
    readonly unlabelled: number;
    /** Scored, labelled records the evaluation used. */
    readonly evaluated: number;
  };
  readonly evaluation: RoutingEvaluation;
}
