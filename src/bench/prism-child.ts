/** One `prism …` command in a fresh child process whose last stdout line is its JSON result. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../errors.ts';
import { BenchError } from './errors.ts';
import { repoRoot } from './paths.ts';

const run = promisify(execFile);

/**
 * Runs `node bin/prism.mjs <args>` from the repository root and parses its last stdout line (logs go to
 * stderr). A failure is CHILD_FAILED, named by `what` with the last lines of the child's error.
 */
export async function prismJsonChild<T>(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  what: string,
  maxBufferBytes = 16 * 2 ** 20,
): Promise<T> {
  try {
    const { stdout } = await run(process.execPath, [join(repoRoot(), 'bin', 'prism.mjs'), ...args], {
      cwd: repoRoot(),
      env,
      maxBuffer: maxBufferBytes,
      timeout: 3_600_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
  } catch (err) {
    throw new BenchError(
      'CHILD_FAILED',
      `${what} failed: ${errorMessage(err).split('\n').slice(-6).join(' | ')}`,
      { cause: err },
    );
  }
}
