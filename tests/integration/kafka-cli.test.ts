import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPICS } from '../../src/config/topics.ts';
import { freePorts } from '../../src/kafka/local/net.ts';
import { testBrokers } from './helpers/kafka.ts';

const PRISM = fileURLToPath(new URL('../../bin/prism.mjs', import.meta.url));
const FIVE = Object.values(DEFAULT_TOPICS);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function prism(args: string[]): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [PRISM, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolveRun({ code, stdout, stderr });
    });
  });
}

describe('prism topics (CLI) against the test broker', () => {
  it('creates the five topics idempotently and lists them, model-updates compacted', async () => {
    const brokers = testBrokers().join(',');

    const first = await prism(['topics', 'create', '--brokers', brokers]);
    expect(first.stderr).not.toContain('prism:');
    expect(first.code).toBe(0);
    for (const name of FIVE) expect(first.stdout).toMatch(new RegExp(`^(created|exists ) ${name}\\b`, 'm'));

    const second = await prism(['topics', 'create', '--brokers', brokers]);
    expect(second.code).toBe(0);
    for (const name of FIVE) expect(second.stdout).toMatch(new RegExp(`^exists  ${name}$`, 'm'));

    const list = await prism(['topics', 'list', '--json', '--brokers', brokers]);
    expect(list.code).toBe(0);
    const topics = JSON.parse(list.stdout) as { name: string; cleanupPolicy?: string }[];
    const byName = new Map(topics.map((t) => [t.name, t]));
    for (const name of FIVE) expect(byName.has(name), name).toBe(true);
    expect(byName.get(DEFAULT_TOPICS.modelUpdates)?.cleanupPolicy).toBe('compact');
    expect(byName.get(DEFAULT_TOPICS.trajectories)?.cleanupPolicy).toBe('delete');
  });

  it('reports an unreachable broker as BROKER_UNREACHABLE with the `kafka up` hint', async () => {
    const [closedPort] = await freePorts(1);
    const run = await prism(['topics', 'list', '--brokers', `127.0.0.1:${closedPort}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('[BROKER_UNREACHABLE]');
    expect(run.stderr).toContain('npx prism kafka up');
  });
});
