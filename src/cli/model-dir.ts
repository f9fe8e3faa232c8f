import { statSync } from 'node:fs';
import { ModelError } from '../model/errors.ts';

/**
 * A model folder named on the command line or in config must exist and be a folder; say so
 * plainly (and how to make one) instead of "has no config.json" deeper down. `key` names the
 * setting the path came from (e.g. `scorer.modelDir (--model)`). Exit 2 like every ModelError.
 */
export function assertModelDir(dir: string, key: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new ModelError(
      'MODEL_FILE_MISSING',
      `${key}: model folder ${dir} does not exist (create one with "npx prism model init --preset tiny --out ${dir}", or fix the path)`,
    );
  }
  if (!isDir) throw new ModelError('MODEL_FILE_MISSING', `${key}: ${dir} is a file, not a model folder`);
}
