/**
 * The signal study (issue 17, item 10): does PRISM's gradient concentration separate the conflict
 * families on the tiny probe, and how does that depend on the warm-start length?
 *
 * For every seed s and warm-start length w, with the prism CLI only:
 *   prism gen --n N --seed s --conflict-share 0.3 --out <work>/data-s.jsonl
 *   prism model init --preset tiny --seed s --out <work>/init-s
 *   prism model warm-start --from <work>/init-s --steps w --data-seed 1000+s --out <work>/ws-s-w  (w > 0)
 *   prism eval routing --model <probe> --in <work>/data-s.jsonl --max-seq-len 512 --out <work>/eval-s-w.json
 * then summarises the AUC of every metric (and the random and length baselines) as mean ± sd over the
 * seeds per length (src/eval/study.ts) and writes one JSON (default bench/results/signal-study.json) with
 * the settings, the machine, every run and the Markdown table that README.md quotes.
 *
 *   npx tsx tools/signal-study/run.ts [--seeds 1,2,3,4,5] [--steps 0,20,40] [--n 400] [--work-dir DIR]
 *                                     [--out FILE] [--resume]
 *
 * --resume reuses the models and evaluations already in the work dir (an interrupted study goes on).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type { EvalRoutingReport } from '../../src/eval/report.ts';
import { formatStudyMarkdown, summariseStudy, type StudyRun } from '../../src/eval/study.ts';

const run = promisify(execFile);

const { values: flags } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3,4,5' },
    steps: { type: 'string', default: '0,20,40' },
    n: { type: 'string', default: '400' },
    'conflict-share': { type: 'string', default: '0.3' },
    'max-seq-len': { type: 'string', default: '512' },
    'work-dir': { type: 'string', default: '.prism/signal-study' },
    out: { type: 'string', default: 'bench/results/signal-study.json' },
    resume: { type: 'boolean', default: false },
  },
});

const ints = (s: string): number[] => s.split(',').map((x) => Number.parseInt(x.trim(), 10));
const seeds = ints(flags.seeds);
const stepsList = ints(flags.steps);
const work = flags['work-dir'];

async function prism(args: string[]): Promise<void> {
  process.stderr.write(`$ prism ${args.join(' ')}\n`);
  await run(process.execPath, ['bin/prism.mjs', ...args], {
    maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, PRISM_LOG_LEVEL: 'warn' },
  });
}

/** Init folders written by this run (without --resume, older ones are rebuilt once). */
const initialised = new Set<number>();

async function probeFor(seed: number, steps: number): Promise<string> {
  const init = join(work, `init-${seed}`);
  const reuse = initialised.has(seed) || (flags.resume && existsSync(join(init, 'config.json')));
  if (!reuse) await prism(['model', 'init', '--preset', 'tiny', '--seed', String(seed), '--out', init]);
  initialised.add(seed);
  if (steps === 0) return init;
  const dir = join(work, `ws-${seed}-${steps}`);
  if (!(flags.resume && existsSync(join(dir, 'prism-warm-start.json'))))
    await prism([
      'model',
      'warm-start',
      '--from',
      init,
      '--steps',
      String(steps),
      '--data-seed',
      String(1000 + seed),
      '--out',
      dir,
      '--no-progress',
    ]);
  return dir;
}

async function main(): Promise<void> {
  const started = Date.now();
  const load = loadavg();
  await mkdir(work, { recursive: true });
  const runs: StudyRun[] = [];
  for (const seed of seeds) {
    const data = join(work, `data-${seed}.jsonl`);
    if (!(flags.resume && existsSync(data)))
      await prism([
        'gen',
        '--n',
        flags.n,
        '--seed',
        String(seed),
        '--conflict-share',
        flags['conflict-share'],
        '--out',
        data,
      ]);
    for (const steps of stepsList) {
      const out = join(work, `eval-${seed}-${steps}.json`);
      let seconds: number | undefined;
      if (!(flags.resume && existsSync(out))) {
        const probe = await probeFor(seed, steps);
        const t0 = Date.now();
        await prism([
          'eval',
          'routing',
          '--model',
          probe,
          '--in',
          data,
          '--max-seq-len',
          flags['max-seq-len'],
          '--out',
          out,
          '--no-progress',
        ]);
        seconds = (Date.now() - t0) / 1000;
      }
      const report = JSON.parse(await readFile(out, 'utf8')) as EvalRoutingReport;
      runs.push({ seed, warmStartSteps: steps, evaluation: report.evaluation, seconds });
      process.stderr.write(`seed ${seed}, ${steps} warm-start steps: done (${runs.length} runs)\n`);
    }
  }
  const summary = summariseStudy(runs);
  const result = {
    kind: 'prism.signal-study/1',
    command: `npx tsx tools/signal-study/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    settings: {
      seeds,
      warmStartSteps: stepsList,
      n: Number(flags.n),
      conflictShare: Number(flags['conflict-share']),
      maxSeqLen: Number(flags['max-seq-len']),
      probe: 'tiny (prism model init --preset tiny --seed <seed>)',
      warmStartData: 'prism gen base families, --data-seed 1000 + seed',
      label: 'metadata.conflict (conflict families are the positive class)',
    },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', loadAverageAtStart: load },
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    summary,
    markdown: formatStudyMarkdown(summary),
    runs: runs.map((r) => ({
      seed: r.seed,
      warmStartSteps: r.warmStartSteps,
      seconds: r.seconds ?? null,
      n: r.evaluation.n,
      positives: r.evaluation.positives,
      auc: Object.fromEntries(
        r.evaluation.rows
          .filter((x) => x.router !== 'inverse')
          .map((x) => [x.router === 'prism' ? x.metric : x.router, x.auc]),
      ),
    })),
  };
  await mkdir(dirname(flags.out), { recursive: true });
  await writeFile(flags.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `${result.markdown}\n\n${runs.length} runs in ${result.seconds.toFixed(0)} s → ${flags.out}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`signal study failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
