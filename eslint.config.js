import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The pure core (issue 15): stats, arbitration, model, sequence, scorer maths, schemas. */
const PURE_CORE = [
  'src/stats/**/*.ts',
  'src/arbitration/**/*.ts',
  'src/model/**/*.ts',
  'src/sequence/**/*.ts',
  'src/scorer/**/*.ts',
  'src/schemas/**/*.ts',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', 'tests/fixtures/**', '.prism/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // House standard: no function over 100 lines (tests excluded).
  {
    files: [
      'src/**/*.{ts,js,mjs,cjs}',
      'streams/**/*.{ts,js,mjs,cjs}',
      'scripts/**/*.ts',
      'bin/**/*.{js,mjs,cjs,ts}',
    ],
    rules: {
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: true, skipComments: true }],
    },
  },
  // The pure core computes; adapters (streams/, src/runtime/, src/kafka/, src/cli/, …) do I/O.
  // Type-only imports (e.g. a config section's type) carry no dependency and stay allowed.
  {
    files: PURE_CORE,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...['node:fs', 'node:fs/promises', 'fs', 'fs/promises'].map((name) => ({
              name,
              message: 'pure core: no file I/O here; read or write files in an adapter and pass the data in',
            })),
            {
              name: 'kafkajs',
              message: 'pure core: Kafka belongs to the adapters (streams/, src/kafka/, src/runtime/)',
            },
            {
              name: 'prom-client',
              message: 'pure core: metrics belong to src/metrics/ (pass a callback in)',
            },
          ],
          patterns: [
            {
              group: ['**/log.ts', '**/log'],
              importNames: ['log'],
              message: 'pure core: no logger singleton; take a Logger (type) from the caller',
            },
            {
              group: ['**/config/*', '**/config'],
              allowTypeImports: true,
              message: 'pure core: no config loading; take the parsed section (import type) from the caller',
            },
            {
              group: ['**/trainer/*', '**/trainer/**'],
              allowTypeImports: true,
              message: 'pure core: must not depend on the trainers',
            },
          ],
        },
      ],
    },
  },
);
