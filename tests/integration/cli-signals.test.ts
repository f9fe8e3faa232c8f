/**
 * Issue 17: SIGTERM must reach the process that owns the consumer whatever started it. Through
 * `npx prism run`, `kill -TERM <npx pid>` ends npm and its `sh -c` child, which never pass the
 * signal on; the re-parented prism notices and drains as on SIGTERM (src/cli/parent-watch.ts).
 * The same holds for a prism whose parent shell is killed outright. Each case checks that the
 * process is gone, its consumer group is empty, its HTTP port closed, and its log says it stopped
 * through the signal path. The healthy run's log is also checked for the known start-up noise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { jsonLogLines, pidRunning, PRISM_BIN } from './helpers/cli.ts';
import { uniqueName, withTestAdmin } from './helpers/kafka.ts';
import { waitForCount, waitUntil } from './helpers/wait.ts';
import { ROOT, audit, committedTotal, createOutputs, runArgs, startCli, writeInput } from './run-fixtures.ts';

interface Started {
  readonly child: ChildProcess;
  stderr(): string;
}

function start(cmd: string, args: readonly string[]): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, PRISM_LOG_LEVEL: 'info' };
  delete env.TF_CPP_MIN_LOG_LEVEL;
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return { child, stderr: () => err };
}

/** The pid and HTTP port `prism run` logged (pino lines carry the pid). */
async function prismProcess(s: Started): Promise<{ pid: number; port: number }> {
  let found: { pid: number; port: number } | undefined;
  await waitUntil({
    what: 'prism run to log its HTTP port',
    check: () => {
      const line = jsonLogLines(s.stderr()).find((l) => String(l.msg).startsWith('http server listening'));
      if (line && typeof line.pid === 'number' && typeof line.port === 'number')
        found = { pid: line.pid, port: line.port };
      return found !== undefined || `no "http server listening" line (launcher exit ${s.child.exitCode})`;
    },
    context: () => s.stderr().split('\n').slice(-15).join('\n'),
  });
  if (found === undefined) throw new Error('unreachable');
  return found;
}

/** Kills what a failed scenario left behind: the launcher and every prism pid in its log. */
function cleanup(s: Started): void {
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
  for (const l of jsonLogLines(s.stderr()))
    if (typeof l.pid === 'number' && l.pid !== process.pid && pidRunning(l.pid))
      process.kill(l.pid, 'SIGKILL');
}

async function groupMembers(group: string): Promise<number> {
  const { groups } = await withTestAdmin((admin) => admin.describeGroups([group]));
  return groups[0]?.members.length ?? 0;
}

async function portOpen(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

async function scenario(prefix: string, launch: (args: string[]) => Started, kill: (s: Started) => void) {
  const input = await writeInput(`${prefix}-in`, 300, { partitions: 2, poison: false });
  const out = await createOutputs(prefix);
  const group = uniqueName(`${prefix}-g`);
  const s = launch(
    runArgs(input, out, group, {
      'arbitration.policy': 'threshold',
      'arbitration.threshold': 0.5,
      'scorer.deterministic.delayMs': 200,
    }),
  );
  let found: { pid: number; port: number };
  try {
    found = await prismProcess(s);
  } catch (err) {
    cleanup(s);
    throw err;
  }
  const { pid, port } = found;
  try {
    // Started and owning the partitions: some input committed, more still to do (200 ms per batch).
    await waitForCount({
      what: 'the run to commit its first batch',
      target: 1,
      read: () => committedTotal(group, input.topic),
      context: () => s.stderr().split('\n').slice(-15).join('\n'),
    });
    expect(await groupMembers(group)).toBe(1);
    kill(s);
    await waitUntil({
      what: `prism (pid ${pid}) to exit after its launcher was signalled`,
      check: () => !pidRunning(pid) || 'still running',
      context: () => s.stderr().split('\n').slice(-20).join('\n'),
    });
  } finally {
    cleanup(s);
  }
  const log = s.stderr();
  expect(log).toMatch(/parent process \d+ exited; stopping as on SIGTERM/);
  const lines = jsonLogLines(log);
  expect(lines.some((l) => l.msg === 'signal received' && l.pid === pid)).toBe(true);
  expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('stopping: '))).toBe(true);
  expect(await groupMembers(group), 'the consumer left its group').toBe(0);
  expect(await portOpen(port), 'the HTTP port is closed').toBe(false);
  return { log, lines, pid };
}

describe('signals reach the process that owns the consumer', () => {
  it('kill -TERM on `npx prism run` drains and stops the node process too; the healthy run logged no start-up noise', async () => {
    const { lines, pid } = await scenario(
      'sig-npx',
      (args) => start('npx', ['prism', ...args]),
      (s) => s.child.kill('SIGTERM'),
    );
    const own = lines.filter((l) => l.pid === pid);
    expect(
      own.filter((l) => l.level >= 50).map((l) => l.msg),
      'no error-level lines',
    ).toEqual([]);
    expect(own.filter((l) => String(l.msg).includes('Limiting retries'))).toEqual([]);
    expect(own.map((l) => l.msg).at(-1)).toMatch(/^stopped/);
  });

  it('a prism whose parent shell is killed (SIGKILL, no signal passed on) stops as on SIGTERM', async () => {
    await scenario(
      'sig-orphan',
      // "; true" keeps sh from exec'ing node, so node's parent is the shell that gets killed.
      (args) => start('sh', ['-c', `"${process.execPath}" "${PRISM_BIN}" "$@"; true`, 'sh', ...args]),
      (s) => s.child.kill('SIGKILL'),
    );
  });
});

describe('a signal stops scoring promptly and the last line says what happened', () => {
  it('aborts batches held for the warm-up instead of waiting out a 10-minute drain, and says so', async () => {
    const input = await writeInput('sig-abort-in', 100, { partitions: 2, poison: false });
    const out = await createOutputs('sig-abort');
    const group = uniqueName('sig-abort-g');
    // warm-up 200 > 100 records: every record stays held, so a drain could never finish; the
    // 10-minute budgets mean the process only exits promptly if the signal aborts the batches.
    const cli = startCli(
      runArgs(input, out, group, {
        'arbitration.warmup': 200,
        'lifecycle.shutdownTimeoutMs': 600_000,
        'lifecycle.drainTimeoutMs': 600_000,
      }),
    );
    let port = 0;
    try {
      await waitUntil({
        what: 'all 100 records held for the warm-up (/readyz warmup.records)',
        check: async () => {
          const line = jsonLogLines(cli.stderr()).find((l) =>
            String(l.msg).startsWith('http server listening'),
          );
          if (typeof line?.port === 'number') port = line.port;
          if (port === 0) return 'no HTTP port logged yet';
          try {
            const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
            const body = (await res.json()) as { warmup?: { records?: number } };
            const held = body.warmup?.records ?? 0;
            return held === 100 || `${held} records held`;
          } catch (err) {
            return `readyz: ${String(err)}`;
          }
        },
        context: () => cli.stderr().split('\n').slice(-15).join('\n'),
      });
    } finally {
      cli.child.kill('SIGTERM');
    }
    const { code } = await cli.exited;
    expect(code, cli.stderr().slice(-3000)).toBe(0);
    const run = jsonLogLines(cli.stderr()).filter((l) => l.component === 'run');
    const last = run.at(-1);
    expect(last?.msg).toMatch(
      /^stopped: aborted the in-flight batches of [12] partition lanes?; up to 100 records not committed \(re-read on restart\)$/,
    );
    expect(last).toMatchObject({ outcome: 'aborted', uncommittedRecords: 100 });
    expect(cli.stderr()).not.toContain('stopped cleanly');
    expect(await committedTotal(group, input.topic)).toBe(0n);
    const a = await audit(out);
    expect(a.sft.length + a.rl.length + a.dlq.length, 'nothing routed').toBe(0);
  });
});
