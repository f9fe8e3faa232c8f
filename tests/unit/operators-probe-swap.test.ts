/**
 * probe.mode follow in the score operator: a verified checkpoint is swapped in between
 * micro-batches (never inside one), each batch carries exactly one probe version, a corrupted
 * checkpoint is refused, and the swapped-out version's window does not hold records forever.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject, lastValueFrom, of, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { Arbitrator } from '../../src/arbitration/arbitrator.ts';
import { medianPolicy } from '../../src/arbitration/policy.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { PipelineMetrics } from '../../src/metrics/pipeline-metrics.ts';
import { score, type ProbeSwap } from '../../src/operators/score.ts';
import { SerialGate } from '../../src/operators/serial-gate.ts';
import type { Batch, DecodeResult, Outbound, ScoreResult, SourceRecord } from '../../src/operators/types.ts';
import type { LaneSink } from '../../src/producer/types.ts';
import type { ModelUpdate, ScoredTrajectory, Trajectory } from '../../src/schemas/types.ts';
import type { ScoreOutcome, Scorer } from '../../src/scorer/types.ts';
import { CheckpointStore } from '../../src/trainer/checkpoint/store.ts';
import { ModelFollower, type FollowEvent } from '../../src/trainer/model-updates/follower.ts';
import { FollowingScorer } from '../../src/trainer/model-updates/following-scorer.ts';
import { buildTopology } from '../../streams/topology.ts';
import { scores, sourceRecord, trajectory } from './operators-fixtures.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A scorer on one "model" (a version label); records which trajectories it scored. */
class VersionScorer implements Scorer {
  readonly probeModelId: string;
  readonly backend = 'none';
  readonly scored: string[] = [];
  disposed = false;
  /** When set, scoreBatch waits for it (to act while a batch is being scored). */
  hold: Promise<void> | undefined;

  constructor(
    readonly probeModelVersion: string,
    modelId = 'm',
  ) {
    this.probeModelId = modelId;
  }

  async scoreBatch(ts: readonly Trajectory[]): Promise<ScoreOutcome[]> {
    if (this.disposed) throw new Error(`scorer ${this.probeModelVersion} used after dispose`);
    await this.hold;
    this.scored.push(...ts.map((t) => t.id));
    return ts.map((t) => ({ ok: true, scores: scores(Number(t.id.replace(/\D/g, '')) / 100) }));
  }

  dispose(): void {
    this.disposed = true;
  }
}

/** Writes a real checkpoint (atomic store + manifest, so the sha256 is right) and its ModelUpdate. */
async function checkpoint(root: string, step: number): Promise<{ update: ModelUpdate; path: string }> {
  const ref = await new CheckpointStore(root, 'm').write({
    step,
    trainer: 'sft',
    consumerGroup: 'g',
    parent: null,
    offsets: [],
    state: {},
    metrics: {},
    optimizerStep: step,
    writeWeights: (dir) => writeFile(join(dir, 'model.safetensors'), `weights-${step}`),
    writeOptimizer: async (dir) => {
      await writeFile(join(dir, 'optimizer.safetensors'), 'o');
      return 'optimizer.safetensors';
    },
  });
  const update: ModelUpdate = {
    model_id: 'm',
    version: ref.manifest.version,
    step,
    uri: `file://${ref.path}`,
    sha256: ref.manifest.sha256,
    created_at: 0,
    trainer: 'sft',
    metrics: {},
  };
  return { update, path: ref.path };
}

function following() {
  const root = mkdtempSync(join(tmpdir(), 'probe-swap-'));
  dirs.push(root);
  const events: FollowEvent[] = [];
  const follower = new ModelFollower<string>({
    modelId: 'm',
    current: { version: 'base', step: -1 },
    load: async (dir) => dir,
    dispose: () => undefined,
    onEvent: (e) => events.push(e),
  });
  const base = new VersionScorer('base');
  const built: VersionScorer[] = [];
  const scorer = new FollowingScorer<string>({
    follower,
    initial: base,
    makeScorer: (_model, update) => {
      const s = new VersionScorer(update.version, update.model_id);
      built.push(s);
      return s;
    },
  });
  return { root, events, follower, base, built, scorer };
}

const decoded = (n: number): DecodeResult => ({
  kind: 'decoded',
  source: sourceRecord(n),
  trajectory: trajectory(`t${n}`),
});
const batchOf = (from: number, size: number): Batch<DecodeResult> =>
  Array.from({ length: size }, (_, i) => decoded(from + i));
const versions = (batch: readonly ScoreResult[]): string[] => [
  ...new Set(batch.map((r) => (r.kind === 'scored' ? r.probe.version : `failed:${r.stage}`))),
];

describe('score operator in probe follow mode', () => {
  it('swaps a checkpoint that became ready during a micro-batch in at the next one, never inside it', async () => {
    const f = following();
    const { update } = await checkpoint(f.root, 10);
    const swaps: ProbeSwap[] = [];
    const input = new Subject<Batch<DecodeResult>>();
    const out: ScoreResult[][] = [];
    const done = new Promise<void>((resolve, reject) =>
      input.pipe(score(f.scorer, { gate: new SerialGate(), onSwap: (c) => swaps.push(c) })).subscribe({
        next: (b) => out.push(b),
        error: reject,
        complete: resolve,
      }),
    );

    // Batch 1 is being scored on the base model when the update arrives and finishes loading.
    let release: () => void = () => undefined;
    f.base.hold = new Promise((r) => (release = r));
    input.next(batchOf(0, 4));
    f.follower.offer(update);
    await f.follower.idle();
    expect(f.events.map((e) => e.kind)).toEqual(['loaded']);
    release();
    input.next(batchOf(4, 4));
    input.next(batchOf(8, 4));
    input.complete();
    await done;

    expect(out.map(versions)).toEqual([['base'], [update.version], [update.version]]);
    expect(f.base.scored).toEqual(['t0', 't1', 't2', 't3']);
    expect(f.built.map((s) => s.scored.length)).toEqual([8]);
    expect(swaps).toEqual([
      expect.objectContaining({
        from: { modelId: 'm', version: 'base' },
        to: { modelId: 'm', version: update.version },
      }),
    ]);
    expect(f.base.disposed).toBe(true);
    expect(f.events.map((e) => e.kind)).toEqual(['loaded', 'applied']);
  });

  it('refuses a checkpoint whose weights no longer match its sha256 and keeps scoring with the serving version', async () => {
    const f = following();
    const { update, path } = await checkpoint(f.root, 20);
    appendFileSync(join(path, 'model.safetensors'), 'tampered');
    const swaps: ProbeSwap[] = [];
    f.follower.offer(update);
    await f.follower.idle();

    const out = await lastValueFrom(
      of(batchOf(0, 4), batchOf(4, 4)).pipe(
        score(f.scorer, { gate: new SerialGate(), onSwap: (c) => swaps.push(c) }),
        toArray(),
      ),
    );

    const rejected = f.events.find((e) => e.kind === 'rejected');
    expect(rejected?.kind === 'rejected' && rejected.error.code).toBe('CHECKPOINT_SHA_MISMATCH');
    expect(f.follower.error?.message).toMatch(/refusing to load it/);
    expect(out.map(versions)).toEqual([['base'], ['base']]);
    expect(swaps).toEqual([]);
    expect(f.base.disposed).toBe(false);
  });
});

describe('topology in probe follow mode', () => {
  function followTopology(scorer: Scorer, written: Batch<Outbound>[]) {
    const config = loadConfig({
      env: {},
      overrides: Object.entries({
        'scorer.kind': 'prism',
        'probe.mode': 'follow',
        'probe.followModelId': 'm',
        'batch.size': '4',
        'batch.maxWaitMs': '5',
        'arbitration.warmup': '4',
        'arbitration.window': '16',
      }).map(([path, value]) => ({ path, value, source: 'test' })),
    });
    const metrics = new PipelineMetrics({}, { defaultMetrics: false });
    const topology = buildTopology({
      config,
      scorer,
      arbitrator: new Arbitrator({ policy: medianPolicy(), metric: 'gini', windowSize: 16, warmup: 4 }),
      decodeValue: (value) => trajectory(String(value)),
      isFatalDecodeError: () => false,
      encodeScored: (_topic, r) => Buffer.from(JSON.stringify(r)),
      deadLetter: () => ({ key: null, value: null, headers: {} }),
      metrics,
      log: createLogger('test', 'silent'),
    });
    const sink: LaneSink = {
      write: async (b) => void written.push(b),
      abort: () => undefined,
      close: async () => undefined,
    };
    return { topology, sink, metrics };
  }

  it('names the swap point in its description', () => {
    const { topology } = followTopology(new VersionScorer('base'), []);
    expect(topology.describe()).toMatch(
      /→ score .*probe: follow m \(prism\.model-updates\), sha256-verified, swaps between micro-batches/,
    );
  });

  it('decides the records held in a swapped-out version’s warm-up, and routes the new version in its own window', async () => {
    const f = following();
    const { update } = await checkpoint(f.root, 30);
    const written: Batch<Outbound>[] = [];
    const { topology, sink, metrics } = followTopology(f.scorer, written);
    const input = new Subject<SourceRecord>();
    const done = lastValueFrom(topology.lane(input, sink).pipe(toArray()));
    const record = (n: number) => sourceRecord(n, `t${n}`);

    // Two base-version records: fewer than the warm-up (4), so they are held.
    input.next(record(0));
    input.next(record(1));
    while (f.base.scored.length < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 5));
    expect(written).toEqual([]);

    f.follower.offer(update);
    await f.follower.idle();
    for (let n = 2; n < 6; n += 1) input.next(record(n));
    input.complete();
    await done;

    const outputs = written.flat();
    expect(outputs.map((o) => o.source.offset)).toEqual(['0', '1', '2', '3', '4', '5']);
    const probeVersions = written.map((b) => [
      ...new Set(b.map((o) => (JSON.parse(String(o.value)) as ScoredTrajectory).prism.probe_model_version)),
    ]);
    expect(probeVersions).toEqual([['base'], [update.version]]);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`probe_version="${update.version}"`);
    expect(text).not.toContain('probe_version="base"');
  });
});
