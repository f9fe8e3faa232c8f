/**
 * tfjs side of `prism bench profile`: `tf.profile` around one scorer call, each kernel tagged with
 * the scorer phase it ran in and its nesting depth.
 *
 * Phases come from the layer-wise backward's stages (src/scorer/layerwise.ts), observed without
 * touching the scorer: the model handed to the scorer is a proxy whose `openStages` reports when
 * `embed`, `block` (with or without probes) and `finalNorm` are entered, and tfjs's own scope names
 * tell whether a kernel runs inside a gradient's backward (`tf.grads` runs it in a scope named
 * "backward"):
 *   forward        step 1, the blocks without a tape (embed and every block);
 *   head-forward   the final norm, LM head chunks and loss under the tape (the chunked head forms its
 *                  gradient w.r.t. the hidden states in this same pass, src/sequence/head-loss.ts);
 *   head-backward  their backward (dL/dx_L: the final norm's gradient and the head's saved one, scaled);
 *   recompute      each block again under the tape with its 7 probes (activation recomputation);
 *   backward       each block's backward (probe gradients G and dL/dx_l);
 *   norms          after a block's backward: the per-example norms (ghost or outer product), the next
 *                  layer's zero probes, the final concat and reads;
 *   other          anything before the first stage (batch tensors).
 * The depth is tfjs's kernel depth when the kernel is recorded: a customGrad op (attention, head
 * chunks) is recorded after the kernels of its forward, which sit one level deeper.
 */
import * as tf from '@tensorflow/tfjs';
import type { ProbeStages } from '../scorer/probe-model.ts';
import type { ScorableModel } from '../scorer/prism-scorer.ts';
import { PrismError } from '../errors.ts';
import { matmulFlops, opCategory, selfTimes, type OpSample } from './profile-aggregate.ts';

/** Stable reason codes of ProfileError. */
export const PROFILE_ERROR_CODES = [
  'PROFILE_UNSUPPORTED', // the model has no stages, or this tfjs records kernels in a way the tagging cannot follow
] as const;
export type ProfileErrorCode = (typeof PROFILE_ERROR_CODES)[number];

export class ProfileError extends PrismError {
  declare readonly code: ProfileErrorCode;

  constructor(code: ProfileErrorCode, message: string) {
    super(code, message);
  }
}

export type TfjsPhase =
  'forward' | 'head-forward' | 'head-backward' | 'recompute' | 'backward' | 'norms' | 'other';

/** Where the layer-wise backward is, from the stage calls it makes. */
export class PhaseTracker {
  private stage: 'other' | 'forward' | 'head' | 'layers' = 'other';
  private inProbedBlock = false;

  /** The phase of a kernel recorded now; `inBackward`: it runs inside a gradient's backward. */
  phase(inBackward: boolean): TfjsPhase {
    switch (this.stage) {
      case 'other':
        return 'other';
      case 'forward':
        return 'forward';
      case 'head':
        return inBackward ? 'head-backward' : 'head-forward';
      case 'layers':
        if (inBackward) return 'backward';
        return this.inProbedBlock ? 'recompute' : 'norms';
    }
  }

  /** Wraps a model so that its stages report to this tracker; every other member is the model's own. */
  wrap<M extends ScorableModel>(model: M): M {
    const open = model.openStages?.bind(model);
    if (open === undefined)
      throw new ProfileError(
        'PROFILE_UNSUPPORTED',
        'the model offers no stages (openStages), so the scorer does not run the layer-wise backward',
      );
    const wrapped = (ids: tf.Tensor2D): ProbeStages => this.stages(open(ids));
    return new Proxy(model, {
      get: (target, key) => {
        if (key === 'openStages') return wrapped;
        const v: unknown = Reflect.get(target, key, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  private stages(s: ProbeStages): ProbeStages {
    return {
      layers: s.layers,
      embed: () => {
        this.stage = 'forward';
        return s.embed();
      },
      block: (l, x, opts) => {
        if (opts?.probes === undefined) return s.block(l, x, opts);
        this.stage = 'layers';
        this.inProbedBlock = true;
        try {
          return s.block(l, x, opts);
        } finally {
          this.inProbedBlock = false;
        }
      },
      finalNorm: (x) => {
        this.stage = 'head';
        return s.finalNorm(x);
      },
      dispose: () => s.dispose(),
    };
  }
}

export interface KernelProfile {
  samples: OpSample[];
  kernels: number;
  /** Wall time of the profiled call (profiling adds bookkeeping per kernel). */
  wallMs: number;
  peakBytes: number;
}

interface Tag {
  depth: number;
  phase: TfjsPhase;
}

function inBackward(state: ReturnType<typeof tf.engine>['state']): boolean {
  return state.scopeStack.some((s) => s.name === 'backward') || state.activeScope?.name === 'backward';
}

/** Tags every kernel tf.profile records while `f` runs (the engine pushes one entry per kernel). */
function tagKernels(tracker: PhaseTracker, tags: Tag[]): void {
  const state = tf.engine().state;
  const kernels = state.activeProfile.kernels;
  const push = kernels.push.bind(kernels);
  Object.defineProperty(kernels, 'push', {
    configurable: true,
    value: (...items: typeof kernels): number => {
      for (let i = 0; i < items.length; i++)
        tags.push({ depth: state.kernelDepth, phase: tracker.phase(inBackward(state)) });
      return push(...items);
    },
  });
}

/** A registered kernel (else the entry is a custom-gradient op, recorded under its scope's name). */
function registered(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Runs `f` under tf.profile; kernel times are tfjs-node's (see the README's Benchmarks section). */
export async function profileKernels(
  tracker: PhaseTracker,
  f: () => Promise<unknown>,
): Promise<KernelProfile> {
  const tags: Tag[] = [];
  const t0 = performance.now();
  const info = await tf.profile(async () => {
    tagKernels(tracker, tags);
    await f();
    return [];
  });
  const wallMs = performance.now() - t0;
  if (info.kernels.length !== tags.length)
    throw new ProfileError(
      'PROFILE_UNSUPPORTED',
      `tf.profile recorded ${info.kernels.length} kernels but ${tags.length} were tagged: this tfjs version records kernels differently`,
    );
  const ms = info.kernels.map((k) => (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
  const self = selfTimes(ms.map((m, i) => ({ ms: m, depth: tags[i].depth })));
  const samples = info.kernels.map((k, i) => ({
    name: registered(k.name) ? k.name : `(custom-gradient op, scope ${k.name})`,
    phase: tags[i].phase,
    ms: self[i],
    calls: 1,
    flops: opCategory(k.name) === 'matmul' ? matmulFlops(k.inputShapes, k.outputShapes[0]) : 0,
  }));
  return { samples, kernels: info.kernels.length, wallMs, peakBytes: info.peakBytes };
}
