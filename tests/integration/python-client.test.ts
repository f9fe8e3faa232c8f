/**
 * The Python client (clients/python, issue 16) against the broker this integration run started:
 * runs `python3 -m pytest clients/python/tests` with PRISM_KAFKA_BROKERS set, so the pytest broker
 * tests (TS producer → Python reader, kill -9 of the HF SFT example, PyTorch checkpoints followed by
 * `prism run`) and the pure ones (shared sequence vectors, ledger, manifest) run under `npm test`.
 * The issue-18 scorer-service tests in the same folder run here too. Fails with a clear message
 * when the package or torch is not installed (`pip install './clients/python[hf,dev]'`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testBrokers } from './helpers/kafka.ts';

const ROOT = join(import.meta.dirname, '../..');
const PYTHON = process.env.PRISM_PYTHON ?? 'python3';

function missingPythonDeps(): string | null {
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import prism_stream.hf, confluent_kafka, fastavro, tokenizers, torch, transformers, pytest'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (probe.error) return `${PYTHON} not found (${probe.error.message})`;
  return probe.status === 0 ? null : probe.stderr.trim().split('\n').slice(-1)[0];
}

function runPytest(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      PYTHON,
      ['-m', 'pytest', 'clients/python/tests', '-q', '-rs', '--durations=8', '-p', 'no:cacheprovider'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PRISM_KAFKA_BROKERS: testBrokers().join(','),
          OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1',
          TOKENIZERS_PARALLELISM: 'false',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('Python client (pytest against the real broker)', () => {
  it('passes its pytest suite, broker tests included', { timeout: 900_000 }, async () => {
    const missing = missingPythonDeps();
    expect(
      missing,
      `the Python client is not installed: ${missing}\ninstall it with: pip install './clients/python[hf,dev]'`,
    ).toBeNull();
    const { code, output } = await runPytest();
    const summary = output.trim().split('\n').slice(-1)[0] ?? '';
    expect(code, `pytest failed (${summary}):\n${output.slice(-8000)}`).toBe(0);
    // The broker tests must have run, not been skipped for a missing PRISM_KAFKA_BROKERS.
    expect(output).not.toMatch(/PRISM_KAFKA_BROKERS is not set/);
    expect(summary).toMatch(/\d+ passed/);
  });
});
