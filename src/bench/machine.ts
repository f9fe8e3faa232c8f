import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

/** What every result file records about the run: the machine, the command, the load around it. */
export interface Machine {
  /** "model name" from /proc/cpuinfo (os.cpus() elsewhere). */
  cpuModel: string;
  /** Cores this process may use (os.availableParallelism). */
  cores: number;
  memGiB: number;
  /** AVX-512 / AVX2 / FMA flags, which set the fp32 ceiling. */
  simd: string[];
  node: string;
  platform: string;
}

export interface RunMeta {
  /** Result-file format version (bump on incompatible changes). */
  version: 1;
  /** What produced the file: `prism bench …` as typed. */
  command: string;
  /** ISO-8601 start and end. */
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  /** 1/5/15-minute load averages at start and end: above `cores`, timings are noisy. */
  loadStart: [number, number, number];
  loadEnd: [number, number, number];
  /** `git rev-parse --short HEAD` (+ "-dirty"), when the checkout is a git repository. */
  commit: string | null;
  /** A `--quick` run: a subset, for checking the tooling, not for publishing. */
  quick: boolean;
}

function cpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

export function machineInfo(): Machine {
  const info = cpuinfo();
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? '').split(/\s+/));
  const simd = ['avx512f', 'avx512_bf16', 'avx512_vnni', 'avx2', 'fma', 'amx_tile'].filter((f) =>
    flags.has(f),
  );
  return {
    cpuModel: model,
    cores: availableParallelism(),
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    simd,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

function load(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [round2(a), round2(b), round2(c)];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

/** The command line as the user typed it (argv after the node binary and script). */
export function commandLine(argv: readonly string[] = process.argv): string {
  return ['prism', ...argv.slice(2)]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
    .join(' ');
}

/** Starts the meta record of a run; call `finish()` when the measurements are done. */
export function startMeta(opts: { quick: boolean; command?: string }): { finish(): RunMeta } {
  const startedAt = new Date().toISOString();
  const loadStart = load();
  const machine = machineInfo();
  const commit = gitCommit();
  const command = opts.command ?? commandLine();
  return {
    finish: () => ({
      version: 1,
      command,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine,
      loadStart,
      loadEnd: load(),
      commit,
      quick: opts.quick,
    }),
  };
}

/** One line for logs and figure captions: "2 × Intel(R) Xeon(R) Processor (avx512f, fma), Node v20…". */
export function describeMachine(m: Machine): string {
  return `${m.cores} cores × ${m.cpuModel}${m.simd.length > 0 ? ` (${m.simd.join(', ')})` : ''}, ${m.memGiB} GiB, Node ${m.node}`;
}
