/** The columns of `prism bench pipeline` (see run.ts); a light module so the CLI can list them without loading the runner. */
export const PIPELINE_COLUMNS = ['plain', 'noop', 'tiny'] as const;
export type PipelineColumn = (typeof PIPELINE_COLUMNS)[number];
