/** Writes tests/fixtures/sequence-vectors.json (see vectors.ts). Usage: npx tsx tools/sequence-vectors/make.ts */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildVectors } from './vectors.ts';

export const VECTORS_FILE = join(import.meta.dirname, '../../tests/fixtures/sequence-vectors.json');

const vectors = buildVectors();
writeFileSync(VECTORS_FILE, `${JSON.stringify(vectors)}\n`);
process.stdout.write(`wrote ${vectors.cases.length} cases to ${VECTORS_FILE}\n`);
