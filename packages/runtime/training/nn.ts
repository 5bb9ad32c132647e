// Building blocks for training the MNIST models in plain TypeScript: parameters, a deterministic
// exp, softmax cross-entropy and Adam. Everything runs in float64 with only +, -, *, / and sqrt
// (all exactly rounded by IEEE 754) in a fixed order, so the same code gives bit-identical
// weights on every machine; no Math.random, Math.exp or Math.pow on the path to the weights.

import type { Xorshift32 } from './mnist-data.ts';

export type Param = {
  /** The ONNX initializer name it is exported under. */
  name: string;
  /** Shape of `value` in the layout training uses (see each model for its export layout). */
  shape: number[];
  value: Float64Array;
  grad: Float64Array;
  /** Adam's first and second moment estimates. */
  m: Float64Array;
  v: Float64Array;
};

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A parameter initialised uniformly in [-bound, bound] (bound 0: zeros). */
export function createParam(name: string, shape: number[], bound: number, rng: Xorshift32): Param {
  const n = size(shape);
  const value = new Float64Array(n);
  if (bound > 0) for (let i = 0; i < n; i++) value[i] = (rng.nextFloat() * 2 - 1) * bound;
  return {
    name,
    shape,
    value,
    grad: new Float64Array(n),
    m: new Float64Array(n),
    v: new Float64Array(n),
  };
}

/** Rounds every parameter to float32, the precision the ONNX file stores. */
export function roundParamsToFloat32(params: Param[]): void {
  for (const p of params) for (let i = 0; i < p.value.length; i++) p.value[i] = Math.fround(p.value[i]);
}

const LN2_HI = 0.6931471803691238; // high bits of ln 2 (exact product with small integers)
const LN2_LO = 1.9082149292705877e-10; // ln 2 - LN2_HI
const INV_LN2 = Math.LOG2E;
const EXP_MIN_K = -120;
/** 2^k for k in [EXP_MIN_K, 0], each exact (repeated halving). */
const POW2_NEG = (() => {
  const t = new Float64Array(-EXP_MIN_K + 1);
  t[0] = 1;
  for (let i = 1; i < t.length; i++) t[i] = t[i - 1] / 2;
  return t;
})();

/**
 * e^x for x ≤ 0 from basic arithmetic only (relative error < 1e-14), independent of the engine's
 * libm; results below e^-83 flush to 0, which softmax does not notice.
 */
export function expNonPositive(x: number): number {
  if (x < -83) return 0;
  const k = Math.round(x * INV_LN2);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| ≤ 0.35
  // Taylor series to r^12 / 12!, Horner form.
  let p = 1 / 479001600;
  p = p * r + 1 / 39916800;
  p = p * r + 1 / 3628800;
  p = p * r + 1 / 362880;
  p = p * r + 1 / 40320;
  p = p * r + 1 / 5040;
  p = p * r + 1 / 720;
  p = p * r + 1 / 120;
  p = p * r + 1 / 24;
  p = p * r + 1 / 6;
  p = p * r + 1 / 2;
  p = p * r + 1;
  p = p * r + 1;
  return p * POW2_NEG[-k];
}

/**
 * Softmax cross-entropy of `logits[off .. off+classes)` against `label`: writes
 * scale * (softmax - onehot) into `dlogits[off ..]` and returns the probability of the label
 * (the loss is -log of it; the caller only logs it, so Math.log never touches the weights).
 */
export function softmaxCrossEntropy(
  logits: Float64Array,
  off: number,
  classes: number,
  label: number,
  dlogits: Float64Array,
  scale: number,
): number {
  let max = logits[off];
  for (let k = 1; k < classes; k++) if (logits[off + k] > max) max = logits[off + k];
  let sum = 0;
  for (let k = 0; k < classes; k++) {
    const e = expNonPositive(logits[off + k] - max);
    dlogits[off + k] = e;
    sum += e;
  }
  const pLabel = dlogits[off + label] / sum;
  for (let k = 0; k < classes; k++) {
    dlogits[off + k] = (dlogits[off + k] / sum - (k === label ? 1 : 0)) * scale;
  }
  return pLabel;
}

/** Index of the largest logit (the first one on a tie, as ONNX ArgMax). */
export function argmax(logits: ArrayLike<number>, off: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (logits[off + k] > logits[off + best]) best = k;
  return best;
}

export type AdamState = { step: number; beta1Power: number; beta2Power: number };

export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

export function createAdam(): AdamState {
  return { step: 0, beta1Power: 1, beta2Power: 1 };
}

/** One Adam step over every parameter (gradients are then cleared). */
export function adamStep(state: AdamState, params: Param[], lr: number, weightDecay: number): void {
  const { beta1, beta2, epsilon } = ADAM;
  state.step++;
  state.beta1Power *= beta1;
  state.beta2Power *= beta2;
  const c1 = 1 - state.beta1Power;
  const c2 = 1 - state.beta2Power;
  for (const p of params) {
    const { value, grad, m, v } = p;
    // Decoupled weight decay (AdamW) on weights only, not biases.
    const decay = p.shape.length > 1 ? 1 - lr * weightDecay : 1;
    for (let i = 0; i < value.length; i++) {
      const g = grad[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      value[i] = value[i] * decay - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + epsilon);
      grad[i] = 0;
    }
  }
}
