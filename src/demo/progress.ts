import cliProgress from 'cli-progress';

/** What the live bars show; refreshed twice a second from the output reader and the trainers. */
export interface LiveStatus {
  readonly total: number;
  readonly produced: number;
  readonly routed: number;
  readonly sft: number;
  readonly rl: number;
  readonly dlq: number;
  readonly threshold: number | null;
  readonly sftSteps: number;
  readonly sftTrained: number;
  readonly sftLoss: number | null;
  readonly rlSteps: number;
  readonly rlTrained: number;
  readonly rlLoss: number | null;
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const num = (x: number | null, d = 4): string => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(d));

export function rlShareText(sft: number, rl: number): string {
  return sft + rl === 0 ? '–' : pct(rl / (sft + rl));
}

/** The one-line form for non-terminals. */
export function statusLine(s: LiveStatus): string {
  return (
    `  produced ${s.produced}/${s.total} · routed ${s.routed}/${s.total} (SFT ${s.sft}, RL ${s.rl}, DLQ ${s.dlq}, ` +
    `RL share ${rlShareText(s.sft, s.rl)}, threshold ${num(s.threshold)}) · SFT trainer step ${s.sftSteps} ` +
    `(${s.sftTrained}/${s.sft} records) · RL trainer step ${s.rlSteps} (${s.rlTrained}/${s.rl} records)`
  );
}

type Bar = ReturnType<cliProgress.MultiBar['create']>;

/**
 * Progress on stderr: cli-progress bars on a terminal; on a pipe (CI, tests) one status line
 * every `lineEveryMs`, so logs stay readable. stdout is left to the summary.
 */
export class DemoProgress {
  private multi: cliProgress.MultiBar | undefined;
  private bars: Record<string, Bar> = {};
  private lastLine = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly tty = stream.isTTY === true,
    private readonly lineEveryMs = 10_000,
  ) {}

  /** A line above the bars (or plain, when no bars are shown). */
  line(text: string): void {
    if (this.multi !== undefined) this.multi.log(`${text}\n`);
    else this.stream.write(`${text}\n`);
  }

  private open(): cliProgress.MultiBar {
    this.multi ??= new cliProgress.MultiBar(
      {
        format: '{label} |{bar}| {value}/{total} {info}',
        stream: this.stream,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: true,
        barsize: 24,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    return this.multi;
  }

  warmStartBegin(steps: number): void {
    if (this.tty) this.bars.warm = this.open().create(steps, 0, { label: 'warm-start SFT', info: 'steps' });
  }

  warmStartStep(step: number, total: number, loss: number): void {
    const info = `steps · loss ${num(loss, 3)}`;
    if (this.bars.warm !== undefined) this.bars.warm.update(step, { info });
    else this.throttled(`  warm-start step ${step}/${total} · loss ${num(loss, 3)}`, step === total);
  }

  warmStartEnd(): void {
    this.close();
  }

  live(s: LiveStatus): void {
    const routedInfo = `routed · SFT ${s.sft} · RL ${s.rl} · DLQ ${s.dlq} · RL share ${rlShareText(s.sft, s.rl)} · threshold ${num(s.threshold)}`;
    const sftInfo = `records · step ${s.sftSteps} · loss ${num(s.sftLoss, 3)}`;
    const rlInfo = `records · step ${s.rlSteps} · loss ${num(s.rlLoss, 3)}`;
    if (!this.tty) {
      this.throttled(statusLine(s), false);
      return;
    }
    if (this.bars.produced === undefined) {
      const m = this.open();
      this.bars.produced = m.create(s.total, 0, { label: 'stream       ', info: 'produced' });
      this.bars.routed = m.create(s.total, 0, { label: 'arbitrator   ', info: '' });
      this.bars.sft = m.create(1, 0, { label: 'SFT trainer  ', info: '' });
      this.bars.rl = m.create(1, 0, { label: 'RL trainer   ', info: '' });
    }
    this.bars.produced.update(s.produced);
    this.bars.routed.update(s.routed, { info: routedInfo });
    this.bars.sft.setTotal(Math.max(1, s.sft));
    this.bars.sft.update(s.sftTrained, { info: sftInfo });
    this.bars.rl.setTotal(Math.max(1, s.rl));
    this.bars.rl.update(s.rlTrained, { info: rlInfo });
  }

  liveEnd(last?: LiveStatus): void {
    if (last !== undefined && !this.tty) this.throttled(statusLine(last), true);
    this.close();
  }

  private throttled(text: string, force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastLine < this.lineEveryMs) return;
    this.lastLine = now;
    this.stream.write(`${text}\n`);
  }

  close(): void {
    this.multi?.stop();
    this.multi = undefined;
    this.bars = {};
  }
}
