import cliProgress from 'cli-progress';

/** A progress bar on stderr (silent when stderr is not a terminal, e.g. in tests and pipes). */
export interface Progress {
  update(value: number, records?: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit: 'MB' | 'records'): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format:
        unit === 'MB'
          ? `${label} [{bar}] {percentage}% | {records} records`
          : `${label} [{bar}] {value}/{total} records`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(total, 1), 0, { records: 0 });
  let stopped = false;
  return {
    update(value, records = value) {
      bar.update(Math.min(value, Math.max(total, 1)), { records });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
