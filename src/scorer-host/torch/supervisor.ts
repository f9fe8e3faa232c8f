import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TorchScorerConfig } from '../../config/scorer.ts';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { ServiceConnection, describeEndpoint, type Endpoint } from './connection.ts';
import { TorchScorerError } from './errors.ts';
import { spawnService, type SpawnedService } from './process.ts';

export interface SupervisorOptions {
  readonly cfg: TorchScorerConfig;
  /** Needed when the service is spawned. */
  readonly modelDir?: string;
  readonly maxRows: number;
  readonly maxTokens: number;
  readonly log: Logger;
}

export interface ServiceStatus {
  readonly ready: boolean;
  readonly reason?: string;
  readonly pid?: number;
  readonly endpoint?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Owns the link to the scorer service: spawns it (scorer.torch.spawn) or connects to it, and after
 * a death respawns/reconnects with exponential backoff. `status()` is what /readyz reports.
 */
export class ServiceSupervisor {
  private readonly o: SupervisorOptions;
  private conn: ServiceConnection | undefined;
  private proc: SpawnedService | undefined;
  private pending: Promise<ServiceConnection> | undefined;
  private lastError: string | undefined = 'not started';
  private stopped = false;
  private readonly socketPath: string | undefined;
  /** The last folder a RELOAD made the service serve (probe.mode follow): respawns and reconnects use it. */
  private reloaded: { dir: string; sha256?: string } | undefined;

  constructor(o: SupervisorOptions) {
    this.o = o;
    const { cfg } = o;
    this.socketPath =
      cfg.socket ??
      (cfg.spawn && cfg.host === undefined
        ? join(tmpdir(), `prism-torch-${process.pid}-${randomBytes(4).toString('hex')}.sock`)
        : undefined);
  }

  status(): ServiceStatus {
    const ok = this.conn !== undefined && !this.conn.isClosed;
    return {
      ready: ok,
      reason: ok ? undefined : `torch scorer service not connected: ${this.lastError ?? 'reconnecting'}`,
      pid: this.proc?.pid,
      endpoint: this.conn === undefined ? undefined : describeEndpoint(this.endpointNow()),
    };
  }

  /** The spawned service's process id (tests kill it). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** A live connection; (re)starts or reconnects with backoff until `deadline` (ms epoch). */
  async connection(deadline: number): Promise<ServiceConnection> {
    if (this.stopped) throw new TorchScorerError('SERVICE_UNAVAILABLE', 'the torch scorer was disposed');
    if (this.conn !== undefined && !this.conn.isClosed) return this.conn;
    this.pending ??= this.reconnect(deadline).finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** First start: one attempt, errors thrown as they are (bad python, bad model, version mismatch). */
  async start(): Promise<ServiceConnection> {
    const conn = await this.attempt();
    this.conn = conn;
    this.lastError = undefined;
    return conn;
  }

  private endpointNow(): Endpoint {
    if (this.proc !== undefined) return this.proc.endpoint;
    if (this.socketPath !== undefined) return { socket: this.socketPath };
    return { host: this.o.cfg.host ?? '127.0.0.1', port: this.o.cfg.port };
  }

  private async attempt(): Promise<ServiceConnection> {
    const { cfg } = this.o;
    const modelDir = this.reloaded?.dir ?? this.o.modelDir;
    let spawned = false;
    if (cfg.spawn && this.proc === undefined) {
      if (modelDir === undefined) {
        throw new TorchScorerError(
          'SERVICE_START_FAILED',
          'scorer.modelDir is required to spawn the torch scorer service',
        );
      }
      const proc = await spawnService({
        python: cfg.python,
        modelDir,
        socket: this.socketPath,
        port: cfg.port,
        device: cfg.device,
        dtype: cfg.dtype,
        maxRows: this.o.maxRows,
        maxTokens: this.o.maxTokens,
        threads: cfg.threads,
        startupTimeoutMs: cfg.startupTimeoutMs,
        log: this.o.log,
      });
      this.proc = proc;
      spawned = true;
      this.o.log.info(
        { servicePid: proc.pid, endpoint: describeEndpoint(proc.endpoint) },
        'torch scorer service spawned',
      );
      void proc.exited.then(({ code, signal }) => {
        if (this.proc === proc) this.proc = undefined;
        this.lastError = `service process ${proc.pid} exited (code ${code}, signal ${signal})`;
        if (!this.stopped)
          this.o.log.warn({ servicePid: proc.pid, code, signal }, 'torch scorer service exited');
      });
    }
    const conn = await ServiceConnection.open(this.endpointNow(), cfg.startupTimeoutMs);
    if (!spawned && this.reloaded !== undefined) {
      // A service we did not just start with the reloaded folder may serve an older model: reload it again.
      try {
        await conn.reload(this.reloaded.dir, this.reloaded.sha256);
      } catch (err) {
        conn.close();
        throw err;
      }
    }
    void conn.closed.then((err) => {
      if (this.conn === conn) this.conn = undefined;
      this.lastError = err.message;
    });
    return conn;
  }

  private async reconnect(deadline: number): Promise<ServiceConnection> {
    const { cfg, log } = this.o;
    let delay = cfg.backoffInitialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const conn = await this.attempt();
        this.conn = conn;
        this.lastError = undefined;
        log.info(
          { attempt, endpoint: describeEndpoint(this.endpointNow()) },
          'torch scorer service connected',
        );
        return conn;
      } catch (err) {
        if (err instanceof TorchScorerError && err.code === 'PROTOCOL_VERSION_MISMATCH') throw err;
        this.lastError = errorMessage(err);
        const left = deadline - Date.now();
        if (left <= 0 || this.stopped) {
          throw new TorchScorerError(
            'SERVICE_UNAVAILABLE',
            `the torch scorer service did not come back within scorer.torch.unavailablePatienceMs: ${this.lastError}`,
            { cause: err },
          );
        }
        log.warn(
          { attempt, retryInMs: Math.min(delay, left), err: this.lastError },
          'torch scorer service unavailable; retrying',
        );
        await sleep(Math.min(delay, left));
        delay = Math.min(delay * 2, cfg.backoffMaxMs);
      }
    }
  }

  /**
   * Makes the service serve another model folder (RELOAD, sha256 checked by the service). On success,
   * later respawns start on it and reconnects reload it again; on failure the service keeps its model.
   */
  async reload(
    dir: string,
    sha256: string | undefined,
    deadline: number,
  ): Promise<{ modelId: string; modelVersion: string }> {
    const conn = await this.connection(deadline);
    const r = await conn.reload(dir, sha256);
    this.reloaded = { dir, sha256 };
    return r;
  }

  /** Closes the connection and stops a spawned service (SIGTERM, SIGKILL after 5 s). */
  stop(): void {
    this.stopped = true;
    this.conn?.close();
    const proc = this.proc;
    if (proc !== undefined) {
      proc.child.kill('SIGTERM');
      const t = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
      t.unref();
      void proc.exited.then(() => clearTimeout(t));
    }
  }
}
