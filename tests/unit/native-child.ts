// Shared by the tests that measure memory in a child process on the native (tfjs-node) backend.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Whether tfjs-node loads here (memory figures and their constants are the native backend's). */
export async function nativeAvailable(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/** Runs a TypeScript child script and parses the JSON on the last line of its stdout. */
export async function runChild<T>(script: string, args: readonly string[] = []): Promise<T> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, ...args], {
    maxBuffer: 2 ** 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as T;
}
