/**
 * Issue 17 (a newcomer's first hour): `prism topics create` creates the topics of the
 * configuration it is given; every Kafka command fails alike and quietly when no broker answers;
 * a missing model folder is named as missing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/kafka/local/net.ts';
import { jsonLogLines, prismCli } from './helpers/cli.ts';
import { testBrokers, uniqueName, withTestAdmin } from './helpers/kafka.ts';

const tmp = mkdtempSync(join(tmpdir(), 'prism-first-hour-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Env without the caller's PRISM_* settings, so only what a test sets applies. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PRISM_')) env[k] = v;
  return { ...env, ...extra };
}

async function existing(): Promise<Set<string>> {
  return new Set(await withTestAdmin((admin) => admin.listTopics()));
}

describe('prism topics create uses the configuration', () => {
  it('creates topics named by PRISM_TOPICS_* variables, a --config file and --set flags', async () => {
    const brokers = testBrokers().join(',');
    const fromEnv = uniqueName('json.sft');
    const envRun = await prismCli(['topics', 'create', '--partitions', '1'], {
      env: cleanEnv({ PRISM_KAFKA_BROKERS: brokers, PRISM_TOPICS_SFT: fromEnv }),
    });
    expect(envRun.code, envRun.stderr).toBe(0);
    expect(envRun.stdout).toMatch(new RegExp(`^created ${fromEnv.replace(/\./g, '\\.')} `, 'm'));

    const file = join(tmp, 'prism.yaml');
    const names = {
      trajectories: uniqueName('cfg-in'),
      sft: uniqueName('cfg-sft'),
      rl: uniqueName('cfg-rl'),
      dlq: uniqueName('cfg-dlq'),
      modelUpdates: uniqueName('cfg-upd'),
    };
    writeFileSync(
      file,
      `kafka:\n  brokers: ["${brokers}"]\ntopics:\n${Object.entries(names)
        .map(([k, v]) => `  ${k}: ${v}\n`)
        .join('')}`,
    );
    const flagRl = uniqueName('flag-rl');
    const cfgRun = await prismCli(
      ['topics', 'create', '--partitions', '1', '--config', file, '--set', `topics.rl=${flagRl}`],
      { env: cleanEnv() },
    );
    expect(cfgRun.code, cfgRun.stderr).toBe(0);

    const topics = await existing();
    expect(topics.has(fromEnv)).toBe(true);
    for (const key of ['trajectories', 'sft', 'dlq', 'modelUpdates'] as const)
      expect(topics.has(names[key]), `${key} = ${names[key]}`).toBe(true);
    expect(topics.has(flagRl), 'the --set flag wins over the file').toBe(true);
    expect(topics.has(names.rl), 'the file name overridden by --set is not created').toBe(false);

    const again = await prismCli(['topics', 'create', '--config', file, '--set', `topics.rl=${flagRl}`], {
      env: cleanEnv(),
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`exists  ${names.sft}`);
  });
});

describe('no broker: every Kafka command fails alike, with one message and no error-level logs', () => {
  it('run, train sft, produce and consume --timeout 5 all exit 1 with BROKER_UNREACHABLE', async () => {
    const [closed] = await freePorts(1);
    const brokers = `127.0.0.1:${closed}`;
    const input = join(tmp, 'one.jsonl');
    writeFileSync(
      input,
      `${JSON.stringify({ id: 'a', task_id: 't', turns: [{ role: 'assistant', content: 'hi' }], reward: 1, created_at: 1 })}\n`,
    );
    const commands: Record<string, string[]> = {
      run: ['run', '--brokers', brokers, '--scorer', 'deterministic', '--no-dashboard'],
      'train sft': ['train', 'sft', '--brokers', brokers, '--no-progress'],
      produce: ['produce', '--in', input, '--topic', 'x', '--brokers', brokers],
      consume: ['consume', '--topic', 'x', '--timeout', '5', '--brokers', brokers],
    };
    const results = await Promise.all(
      Object.entries(commands).map(async ([name, args]) => ({
        name,
        r: await prismCli(args, { env: cleanEnv({ PRISM_LOG_LEVEL: 'info' }), cwd: tmp }),
      })),
    );
    for (const { name, r } of results) {
      expect(r.code, `${name}: ${r.stderr}`).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('prism: '));
      expect(lines, name).toEqual([
        `prism: no Kafka broker reachable at ${brokers} (Connection error: connect ECONNREFUSED ${brokers}); run "npx prism kafka up" to start the local broker, or set --brokers / PRISM_KAFKA_BROKERS [BROKER_UNREACHABLE]`,
      ]);
      const errors = jsonLogLines(r.stderr).filter((l) => l.level >= 50);
      expect(errors, `${name}: error-level log lines`).toEqual([]);
    }
  });
});

describe('a model folder that does not exist', () => {
  it('is named as missing by prism run --model and prism score --model (exit 2)', async () => {
    const nope = join(tmp, 'models', 'nope');
    for (const args of [
      ['run', '--model', nope, '--no-dashboard'],
      ['score', '--model', nope, '--in', join(tmp, 'x.jsonl'), '--out', '-'],
    ]) {
      const r = await prismCli(args, { env: cleanEnv() });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`model folder ${nope} does not exist`);
      expect(r.stderr).toContain('[MODEL_FILE_MISSING]');
    }
  });
});
