import * as tf from '@tensorflow/tfjs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  gapByCategory,
  matmulFlops,
  opCategory,
  selfTimes,
  summarise,
  type OpSample,
} from '../../src/bench/profile-aggregate.ts';
import { PhaseTracker, profileKernels } from '../../src/bench/profile-hooks.ts';
import { profileFileName } from '../../src/bench/profile.ts';
import { initModel } from '../../src/model/index.ts';
import { syntheticTrajectories } from '../../src/scorer-host/bench.ts';
import { PrismScorer, type ScorableModel } from '../../src/scorer/prism-scorer.ts';
import type { ProbeStages } from '../../src/scorer/probe-model.ts';
import { ByteTokenizer } from '../../src/tokenizer/index.ts';

const sample = (name: string, phase: string, ms: number, flops = 0, calls = 1): OpSample => ({
  name,
  phase,
  ms,
  calls,
  flops,
});

describe('profile aggregation (pure)', () => {
  it('self times subtract direct children of a post-order kernel list', () => {
    // Two children at depth 1, their parent (10 ms in all), a leaf, then a parent with a grandchild.
    const records = [
      { ms: 2, depth: 1 },
      { ms: 3, depth: 1 },
      { ms: 10, depth: 0 },
      { ms: 4, depth: 0 },
      { ms: 1, depth: 2 },
      { ms: 3, depth: 1 },
      { ms: 6, depth: 0 },
    ];
    expect(selfTimes(records)).toEqual([2, 3, 5, 4, 1, 2, 3]);
    // Self times of a tree add up to the top-level total.
    const top = records.filter((r) => r.depth === 0).reduce((s, r) => s + r.ms, 0);
    expect(selfTimes(records).reduce((a, b) => a + b, 0)).toBe(top);
  });

  it('matmul FLOPs from recorded shapes, whichever operand is transposed', () => {
    expect(
      matmulFlops(
        [
          [2, 3, 4],
          [2, 4, 5],
        ],
        [2, 3, 5],
      ),
    ).toBe(2 * 2 * 3 * 5 * 4);
    expect(
      matmulFlops(
        [
          [2, 4, 3],
          [2, 5, 4],
        ],
        [2, 3, 5],
      ),
    ).toBe(2 * 2 * 3 * 5 * 4);
    expect(
      matmulFlops(
        [
          [3, 4],
          [4, 5],
        ],
        [3, 5],
      ),
    ).toBe(120);
    expect(matmulFlops([null, [4, 5]], [3, 5])).toBe(0);
    expect(matmulFlops([[3, 4]], undefined)).toBe(0);
  });

  it('op families on both sides', () => {
    expect(['BatchMatMul', '_FusedMatMul', 'aten::mm', 'aten::bmm', 'aten::addmm'].map(opCategory)).toEqual(
      Array(5).fill('matmul'),
    );
    expect(opCategory('aten::_scaled_dot_product_flash_attention_for_cpu_backward')).toBe('attention');
    expect(['Softmax', 'aten::_log_softmax_backward_data'].map(opCategory)).toEqual(['softmax', 'softmax']);
    expect(['Transpose', 'Concat', 'aten::copy_', 'aten::transpose'].map(opCategory)).toEqual(
      Array(4).fill('layout'),
    );
    expect(['Multiply', 'Sum', 'aten::mul', 'aten::silu_backward'].map(opCategory)).toEqual(
      Array(4).fill('elementwise'),
    );
    expect(
      ['(python between ops)', 'autograd::engine::evaluate_function: MmBackward0', 'MmBackward0'].map(
        opCategory,
      ),
    ).toEqual(Array(3).fill('framework'));
  });

  it('summarises a fixed kernel list by op, phase and family', () => {
    const samples = [
      sample('BatchMatMul', 'backward', 30, 3e9),
      sample('BatchMatMul', 'recompute', 10, 1e9),
      sample('Softmax', 'recompute', 5),
      sample('Transpose', 'norms', 15),
      sample('Multiply', 'backward', 20),
      sample('(untracked: JS)', 'untracked', 20),
    ];
    const p = summarise(samples);
    expect(p.opMs).toBe(100);
    expect(p.byOp.map((o) => [o.name, o.share, o.calls])).toEqual([
      ['BatchMatMul', 0.4, 2],
      ['(untracked: JS)', 0.2, 1],
      ['Multiply', 0.2, 1],
      ['Transpose', 0.15, 1],
      ['Softmax', 0.05, 1],
    ]);
    expect(p.byOp[0].gflopPerSec).toBeCloseTo(100); // 4e9 FLOP in 40 ms
    expect(p.byPhase.map((o) => [o.name, o.ms])).toEqual(
      [
        ['backward', 50],
        ['norms', 15],
        ['recompute', 15],
        ['untracked', 20],
      ].sort((a, b) => Number(b[1]) - Number(a[1]) || String(a[0]).localeCompare(String(b[0]))),
    );
    expect(Object.fromEntries(p.byCategory.map((c) => [c.name, c.share]))).toEqual({
      matmul: 0.4,
      framework: 0.2,
      elementwise: 0.2,
      layout: 0.15,
      softmax: 0.05,
    });
    expect(p.matmulGflopPerSec).toBeCloseTo(100);
    expect(p.matmulGflop).toBeCloseTo(4);
    expect(p.byPhaseOp.slice(0, 2).map((o) => [o.name, o.ms])).toEqual([
      ['backward · BatchMatMul', 30],
      ['backward · Multiply', 20],
    ]);
    expect(p.byOp.reduce((s, o) => s + o.share, 0)).toBeCloseTo(1);
  });

  it('splits the wall-time gap by family, scaled to each side’s unprofiled wall time', () => {
    const ours = summarise([sample('BatchMatMul', 'backward', 60, 1e9), sample('Transpose', 'norms', 40)]);
    const torch = summarise([sample('aten::mm', 'backward', 50, 1e9), sample('aten::copy_', 'forward', 50)]);
    const gap = gapByCategory(
      { profile: ours, wallMsPerBatch: 200 },
      { profile: torch, wallMsPerBatch: 100 },
    );
    expect(gap).toEqual([
      { name: 'matmul', oursMs: 120, torchMs: 50, deltaMs: 70 },
      { name: 'layout', oursMs: 80, torchMs: 50, deltaMs: 30 },
    ]);
  });

  it('names result files by preset or folder and shape', () => {
    expect(profileFileName({ source: { preset: 'small' }, batch: 4, seq: 512 })).toBe(
      'profile-small-4x512.json',
    );
    expect(profileFileName({ source: { modelDir: '/m/my model' }, batch: 8, seq: 128 })).toBe(
      'profile-my_model-8x128.json',
    );
    expect(profileFileName({ source: { preset: 'tiny' }, batch: 16, seq: 128, torchWay: 'hooks' })).toBe(
      'profile-tiny-16x128-hooks.json',
    );
    expect(profileFileName({ source: { preset: 'tiny' }, batch: 16, seq: 128, torchWay: 'loop' })).toBe(
      'profile-tiny-16x128.json',
    );
  });
});

describe('phase tracking', () => {
  it('classifies by the stage the layer-wise backward is in', () => {
    const seen: string[] = [];
    const tracker = new PhaseTracker();
    const x = {} as tf.Tensor3D;
    const fake: ProbeStages = {
      layers: 1,
      embed: () => x,
      block: () => {
        seen.push(tracker.phase(false));
        return x;
      },
      finalNorm: () => x,
      dispose: () => undefined,
    };
    const model = tracker.wrap({ openStages: () => fake, marker: 7 } as unknown as ScorableModel);
    expect(tracker.phase(false)).toBe('other');
    const stages = (model.openStages as (ids: tf.Tensor2D) => ProbeStages)({} as tf.Tensor2D);
    stages.embed();
    expect(tracker.phase(false)).toBe('forward');
    stages.block(0, x);
    stages.finalNorm(x);
    expect([tracker.phase(false), tracker.phase(true)]).toEqual(['head-forward', 'head-backward']);
    stages.block(0, x, { probes: [] });
    expect([tracker.phase(false), tracker.phase(true)]).toEqual(['norms', 'backward']);
    expect(seen).toEqual(['forward', 'recompute']);
    expect((model as unknown as { marker: number }).marker).toBe(7);
  });

  it('tags every kernel of a real scorer call (cpu backend, tiny model)', async () => {
    await tf.setBackend('cpu');
    const m = initModel({ preset: 'tiny', arch: 'llama', seed: 3 });
    const tracker = new PhaseTracker();
    const scorer = new PrismScorer({
      model: tracker.wrap(m),
      tokenizer: new ByteTokenizer(),
      probeModelId: 't',
      probeModelVersion: '1',
      backend: 'cpu',
      maxSeqLen: 17,
      batchSize: 2,
      emitNorms: false,
      path: 'batched',
      ownsModel: false,
      logger: pino({ level: 'silent' }),
    });
    try {
      const trajs = syntheticTrajectories(2, 16, m.config.vocab_size);
      const before = tf.memory().numTensors;
      const k = await profileKernels(tracker, () => scorer.scoreBatch(trajs));
      expect(tf.memory().numTensors).toBe(before);
      expect(k.samples).toHaveLength(k.kernels);
      const phases = new Set(k.samples.map((s) => s.phase));
      for (const p of ['forward', 'head-forward', 'head-backward', 'recompute', 'backward', 'norms'])
        expect(phases).toContain(p);
      const p = summarise(k.samples);
      expect(p.byOp.find((o) => o.name === 'BatchMatMul')?.category).toBe('matmul');
      // Every recorded time is a non-negative self time.
      expect(k.samples.every((s) => s.ms >= 0 && Number.isFinite(s.ms))).toBe(true);
    } finally {
      scorer.dispose();
      m.dispose();
    }
  });
});
