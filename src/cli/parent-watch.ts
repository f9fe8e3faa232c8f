/**
 * An orphaned `prism` stops like one that got SIGTERM. `npx prism run … & kill -TERM $!` signals
 * npm, which passes it to its `sh -c prism …` child; the shell dies and the node process that owns
 * the consumer is re-parented (to init or a subreaper) without ever seeing the signal — still in
 * the consumer group, still bound to its port. Whatever started prism (npx, npm run, a shell, a
 * supervisor), when it goes away its child notices the new parent id and signals itself, so the
 * command's own SIGTERM handling (drain, commit, leave the group) runs; a command without one
 * exits as on SIGTERM. Started as PID 1's child (a container), the parent never changes: no-op.
 */
export interface ParentWatch {
  stop(): void;
}

export interface ParentWatchOptions {
  /** How often to look at the parent id; default 500 ms. */
  intervalMs?: number;
  /** Called once when the parent is gone, before the signal; default: a line on stderr. */
  onOrphaned?: (formerParent: number) => void;
  /** Current parent id (tests); default process.ppid, which Node re-reads on every access. */
  parentPid?: () => number;
  /** What to do instead of SIGTERM to ourselves (tests). */
  signal?: () => void;
}

export function watchParent(opts: ParentWatchOptions = {}): ParentWatch {
  const parentPid = opts.parentPid ?? (() => process.ppid);
  const original = parentPid();
  const timer = setInterval(() => {
    if (parentPid() === original) return;
    clearInterval(timer);
    // The terminal or pipe we log to may have gone with the parent: a write error must not end
    // the drain that follows.
    process.stdout.on('error', () => undefined);
    process.stderr.on('error', () => undefined);
    (opts.onOrphaned ?? defaultNotice)(original);
    (opts.signal ?? (() => process.kill(process.pid, 'SIGTERM')))();
  }, opts.intervalMs ?? 500);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function defaultNotice(formerParent: number): void {
  process.stderr.write(
    `prism: parent process ${formerParent} exited; stopping as on SIGTERM (pid ${process.pid})\n`,
  );
}
