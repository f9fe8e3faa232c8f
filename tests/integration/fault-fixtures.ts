/**
 * Shared by the broker-fault tests (fault-broker-restart, fault-broker-outage): `prism` children
 * with their logs kept, their HTTP port, /readyz polling during an outage, and an input of
 * counting trajectories produced to a private broker (helpers/own-broker.ts).
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from 'kafkajs';
import { RecordCodec } from '../../src/schemas/codec.ts';
import { openLocalRegistry } from '../../src/schema-store/registry-file.ts';
import { countingTrajectory } from '../unit/trainer-fixtures.ts';
import type { OwnBroker } from './helpers/own-broker.ts';
import { waitUntil } from './helpers/wait.ts';
import { ROOT, type RunningCli } from './run-fixtures.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `prism <args>` as a child with JSON logs at info on stderr. PRISM_TEST_LOG_DIR=<dir> keeps each
 * child's log there for a post-mortem (`<logPrefix><command>-<sub>-<pid>.log`).
 */
export function prismChild(args: string[], logPrefix = ''): RunningCli {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'prism.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, PRISM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const keep = process.env.PRISM_TEST_LOG_DIR;
  const file = keep ? join(keep, `${logPrefix}${args[0]}-${args[1]}-${child.pid}.log`) : undefined;
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    if (file) appendFileSync(file, d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => err };
}

/** prism's own error lines (not kafkajs' connection noise) and the last lines of a child's log. */
export function childTail(p: RunningCli, name: string, lines = 15): string {
  const all = p.stderr().trimEnd().split('\n');
  const errors = all.filter((l) => /"level":(50|60)/.test(l) && !l.includes('"kafkajs":')).slice(-5);
  return (
    `--- ${name}: exit code ${p.child.exitCode}; its own error lines ---\n${errors.join('\n')}\n` +
    `--- last ${lines} lines of ${name} ---\n${all.slice(-lines).join('\n')}`
  );
}

/** Throws when any of `ps` has exited: a fault test's processes must ride the fault out. */
export function assertAlive(ps: readonly RunningCli[]): void {
  for (const p of ps)
    if (p.child.exitCode !== null)
      throw new Error(`a process exited with code ${p.child.exitCode}:\n${childTail(p, 'it')}`);
}

/** The HTTP port a child logged ("http server listening"; the trainer logs the same line). */
export async function portOf(p: RunningCli): Promise<number> {
  let port = 0;
  await waitUntil({
    what: 'the HTTP port in the logs',
    check: () => {
      assertAlive([p]);
      const line =
        p
          .stderr()
          .split('\n')
          .find((l) => l.includes('http server listening')) ?? '';
      const found = /"port":(\d+)/.exec(line);
      if (found) port = Number(found[1]);
      return port > 0 || 'no "http server listening" line yet';
    },
    context: () => childTail(p, 'the child'),
  });
  return port;
}

/** /readyz's status, or 0 when nothing answers within 2 s. */
export async function readyStatus(port: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.status;
  } catch {
    return 0;
  }
}

export interface ReadyPoller {
  /** the distinct statuses seen since the last reset */
  seen(): Set<number>;
  reset(): void;
  stop(): void;
}

/** Polls /readyz in the background, so a short 503 during an outage is not missed. */
export function pollReady(port: number): ReadyPoller {
  let seen = new Set<number>();
  let on = true;
  void (async () => {
    while (on) {
      seen.add(await readyStatus(port));
      await sleep(250);
    }
  })();
  return { seen: () => seen, reset: () => (seen = new Set()), stop: () => (on = false) };
}

const codec = new RecordCodec('trajectory', { registry: openLocalRegistry() });

/** Produces counting trajectories `<prefix>-<from>` … `<prefix>-<to - 1>` (idempotent, acks all); returns the keys. */
export async function produceCounting(
  broker: OwnBroker,
  topic: string,
  prefix: string,
  from: number,
  to: number,
): Promise<string[]> {
  const messages: Message[] = [];
  const keys: string[] = [];
  for (let i = from; i < to; i++) {
    const id = `${prefix}-${i}`;
    messages.push({ key: id, value: await codec.encode(countingTrajectory(id, i % 40)) });
    keys.push(id);
  }
  const producer = broker.kafka(`${prefix}-input`).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500)
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  } finally {
    await producer.disconnect();
  }
  return keys;
}
