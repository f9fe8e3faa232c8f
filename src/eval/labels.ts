/** Which records count as the positive class: metadata[key] equal to one of `positive`. */
export interface LabelSpec {
  readonly key: string;
  readonly positive: readonly string[];
}

/** `prism gen`'s conflict families (heat-first, sanitize, …) carry metadata.conflict = "true". */
export const DEFAULT_LABEL: LabelSpec = { key: 'family', positive: ['conflict'] };

/** True when the `family`/`conflict` shorthand applies (see labelOf). */
function conflictShorthand(spec: LabelSpec): boolean {
  return spec.key === 'family' && spec.positive.includes('conflict');
}

/**
 * true/false for a labelled record, null when it carries no label (no metadata[key]).
 *
 * Shorthand for `--label-key family --positive conflict`: `prism gen` names conflict families by
 * what they change (heat-first, json-actions, …) and marks them with metadata.conflict = "true",
 * so that flag, or a family name starting with "conflict", makes a record positive.
 */
export function labelOf(metadata: Readonly<Record<string, string>>, spec: LabelSpec): boolean | null {
  const value = metadata[spec.key] as string | undefined;
  if (conflictShorthand(spec)) {
    const flag = metadata.conflict as string | undefined;
    if (flag === 'true') return true;
    if (value !== undefined && value.startsWith('conflict')) return true;
    if (value === undefined && flag === undefined) return null;
    return value !== undefined && spec.positive.includes(value);
  }
  if (value === undefined) return null;
  return spec.positive.includes(value);
}

/** One line for tables and reports. */
export function describeLabel(spec: LabelSpec): string {
  const base = `metadata.${spec.key} ∈ {${spec.positive.join(', ')}}`;
  return conflictShorthand(spec)
    ? `${base} or metadata.conflict = "true" or family starting with "conflict"`
    : base;
}
