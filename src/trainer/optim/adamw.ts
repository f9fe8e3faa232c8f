import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay λ: θ ← θ·(1 − lr·λ) − lr·Adam(g) (Loshchilov & Hutter; as torch.optim.AdamW). */
  weightDecay: number;
  /** Parameters for which weight decay is off (norm gains, biases by convention). */
  noDecay?: (name: string) => boolean;
}

/** Serializable optimizer state: step count and the two moment tensors per parameter. */
export interface AdamWState {
  step: number;
  m: Map<string, tf.Tensor>;
  v: Map<string, tf.Tensor>;
}

/**
 * AdamW over named tf.Variables. tfjs ships Adam with L2 folded into the gradient, which is not
 * AdamW: here decay is applied to the weights, outside the adaptive moments.
 */
export class AdamW {
  private readonly params: Map<string, tf.Variable>;
  private readonly opts: AdamWOptions;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  constructor(params: Map<string, tf.Variable>, opts: AdamWOptions) {
    this.params = params;
    this.opts = opts;
    for (const [name, p] of params) {
      this.m.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
      this.v.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(p), false)),
      );
    }
  }

  /** Number of updates applied so far. */
  get stepCount(): number {
    return this.t;
  }

  /**
   * One update with learning rate `lr`. `grads` must hold a gradient for every parameter that
   * should move; parameters without one are left untouched (their moments too).
   */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (g === undefined) continue;
      const m = this.m.get(name) as tf.Variable;
      const v = this.v.get(name) as tf.Variable;
      const decay = this.opts.noDecay?.(name) ? 0 : weightDecay;
      tf.tidy(() => {
        const m1 = m.mul(beta1).add(g.mul(1 - beta1));
        const v1 = v.mul(beta2).add(g.square().mul(1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const update = m1.div(bc1).div(v1.div(bc2).sqrt().add(eps));
        const decayed = decay === 0 ? p : p.mul(1 - lr * decay);
        p.assign(decayed.sub(update.mul(lr)));
      });
    }
  }

  /** Copies of the state (caller disposes the tensors). */
  getState(): AdamWState {
    const copy = (src: Map<string, tf.Variable>): Map<string, tf.Tensor> =>
      new Map([...src].map(([k, t]) => [k, tf.clone(t)]));
    return { step: this.t, m: copy(this.m), v: copy(this.v) };
  }

  /** Restores a state saved by getState; shapes must match the parameters. */
  setState(state: AdamWState): void {
    for (const [name, p] of this.params) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (m === undefined || v === undefined) {
        throw new Error(`optimizer state has no moments for parameter ${name}`);
      }
      if (!tf.util.arraysEqual(m.shape, p.shape) || !tf.util.arraysEqual(v.shape, p.shape)) {
        throw new Error(
          `optimizer state for ${name} has shape ${String(m.shape)}, parameter has ${String(p.shape)}`,
        );
      }
      (this.m.get(name) as tf.Variable).assign(m);
      (this.v.get(name) as tf.Variable).assign(v);
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Default no-decay rule: 1-D tensors (norm gains, biases) by name convention. */
export function defaultNoDecay(patterns: readonly string[]): (name: string) => boolean {
  return (name) => patterns.some((p) => name.includes(p));
}
