// Float32 reference kernels, one per operator of the normalised graph (ONNX semantics). They work
// on typed arrays with precomputed strides and offsets, accumulate in float64 and round once
// when storing, and allocate only their outputs (plus one im2col buffer for Conv).
// Not consensus code: Math.exp and friends are fine here. Browser-safe: no node: imports.
import { type FloatTensor, type IntTensor, ModelError, type Tensor } from '../graph.ts';

type Where = { node: string; op: string };

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function floatOf(t: Tensor, where: Where, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new ModelError(`${what} must be float32, got ${t.dtype}`, where);
  return t.data;
}

/** Strides of `shape` seen through numpy broadcasting into `outShape` (0 on broadcast axes). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const own = stridesOf(shape);
  const out = new Array<number>(r).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const j = r - shape.length + i;
    out[j] = shape[i] === 1 && outShape[j] !== 1 ? 0 : own[i];
  }
  return out;
}

export type BinaryOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow';

function powFn(e: number): (x: number) => number {
  if (e === 2) return (x) => x * x;
  if (e === 1) return (x) => x;
  if (e === 0.5) return Math.sqrt;
  if (e === 3) return (x) => x * x * x;
  return (x) => x ** e;
}

/** Elementwise binary op with broadcasting; int32 in and out for the int shape arithmetic folded at import. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor, outShape: number[], where: Where): Tensor {
  const n = size(outShape);
  const isInt = a.dtype === 'int32' && b.dtype === 'int32';
  if (!isInt && (a.dtype !== 'float32' || b.dtype !== 'float32'))
    throw new ModelError(`inputs must both be float32 or both int32, got ${a.dtype} and ${b.dtype}`, where);
  const out = isInt ? new Int32Array(n) : new Float32Array(n);
  const A = a.data;
  const B = b.data;
  if (op === 'Pow') {
    if (isInt) throw new ModelError('Pow on integers is not supported', where);
    const e = B[0];
    for (let i = 1; i < B.length; i++)
      if (B[i] !== e) throw new ModelError('Pow exponent must be a constant scalar', where);
    const f = powFn(e);
    if (A.length === n) for (let i = 0; i < n; i++) out[i] = f(A[i]);
    else {
      const as = broadcastStrides(a.shape, outShape);
      forEachBroadcast(outShape, as, as, (o, ia) => {
        out[o] = f(A[ia]);
      });
    }
    return { dtype: isInt ? 'int32' : 'float32', shape: outShape, data: out } as Tensor;
  }
  const r = outShape.length;
  const as = broadcastStrides(a.shape, outShape);
  const bs = broadcastStrides(b.shape, outShape);
  const inner = r === 0 ? 1 : outShape[r - 1];
  const ai = r === 0 ? 0 : as[r - 1];
  const bi = r === 0 ? 0 : bs[r - 1];
  const outer = inner === 0 ? 0 : n / inner;
  const idx = new Array<number>(Math.max(r - 1, 0)).fill(0);
  let ao = 0;
  let bo = 0;
  for (let k = 0; k < outer; k++) {
    const oo = k * inner;
    switch (op) {
      case 'Add':
        for (let j = 0; j < inner; j++) out[oo + j] = A[ao + j * ai] + B[bo + j * bi];
        break;
      case 'Sub':
        for (let j = 0; j < inner; j++) out[oo + j] = A[ao + j * ai] - B[bo + j * bi];
        break;
      case 'Mul':
        if (isInt) for (let j = 0; j < inner; j++) out[oo + j] = Math.imul(A[ao + j * ai], B[bo + j * bi]);
        else for (let j = 0; j < inner; j++) out[oo + j] = A[ao + j * ai] * B[bo + j * bi];
        break;
      case 'Div':
        if (isInt)
          for (let j = 0; j < inner; j++) {
            const d = B[bo + j * bi];
            if (d === 0) throw new ModelError('integer division by zero', where);
            out[oo + j] = Math.trunc(A[ao + j * ai] / d);
          }
        else for (let j = 0; j < inner; j++) out[oo + j] = A[ao + j * ai] / B[bo + j * bi];
        break;
    }
    // Advance the odometer over the outer dims.
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      ao += as[d];
      bo += bs[d];
      if (idx[d] < outShape[d]) break;
      ao -= as[d] * outShape[d];
      bo -= bs[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return { dtype: isInt ? 'int32' : 'float32', shape: outShape, data: out } as Tensor;
}

/** Visits every output index with the matching offsets into two broadcast inputs. */
function forEachBroadcast(
  outShape: readonly number[],
  as: readonly number[],
  bs: readonly number[],
  f: (o: number, a: number, b: number) => void,
): void {
  const r = outShape.length;
  const n = size(outShape);
  const idx = new Array<number>(r).fill(0);
  let ao = 0;
  let bo = 0;
  for (let o = 0; o < n; o++) {
    f(o, ao, bo);
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      ao += as[d];
      bo += bs[d];
      if (idx[d] < outShape[d]) break;
      ao -= as[d] * outShape[d];
      bo -= bs[d] * outShape[d];
      idx[d] = 0;
    }
  }
}

// erf: Taylor series near 0, the Numerical Recipes erfc Chebyshev fit (fractional error < 1.2e-7)
// elsewhere; both well inside float32 precision of the result.
export function erf(x: number): number {
  const z = Math.abs(x);
  if (z < 0.5) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 12; n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return sum * 1.1283791670955126;
  }
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc : erfc - 1;
}

export type UnaryOp = 'Relu' | 'LeakyRelu' | 'Sigmoid' | 'Tanh' | 'Sqrt' | 'Erf' | 'Gelu' | 'Clip';

export function unary(
  op: UnaryOp,
  x: Float32Array,
  shape: number[],
  attrs: { alpha?: number; min?: number; max?: number; approximate?: string },
): FloatTensor {
  const n = x.length;
  const y = new Float32Array(n);
  switch (op) {
    case 'Relu':
      for (let i = 0; i < n; i++) y[i] = Math.max(x[i], 0);
      break;
    case 'LeakyRelu': {
      const a = attrs.alpha ?? 0.01;
      for (let i = 0; i < n; i++) y[i] = x[i] >= 0 ? x[i] : a * x[i];
      break;
    }
    case 'Sigmoid':
      for (let i = 0; i < n; i++) {
        const v = x[i];
        if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          y[i] = e / (1 + e);
        }
      }
      break;
    case 'Tanh':
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
      break;
    case 'Sqrt':
      for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]);
      break;
    case 'Erf':
      for (let i = 0; i < n; i++) y[i] = erf(x[i]);
      break;
    case 'Gelu':
      if (attrs.approximate === 'tanh') {
        const c = Math.sqrt(2 / Math.PI);
        for (let i = 0; i < n; i++) {
          const v = x[i];
          y[i] = 0.5 * v * (1 + Math.tanh(c * (v + 0.044715 * v * v * v)));
        }
      } else for (let i = 0; i < n; i++) y[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
      break;
    case 'Clip': {
      const lo = attrs.min ?? Number.NEGATIVE_INFINITY;
      const hi = attrs.max ?? Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const v = x[i];
        y[i] = v < lo ? lo : Math.min(v, hi);
      }
      break;
    }
  }
  return { dtype: 'float32', shape, data: y };
}

/** Splits a shape around an axis into (outer, axis, inner) element counts. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

export function softmax(x: Float32Array, shape: number[], axis: number, log: boolean): FloatTensor {
  const [outer, len, inner] = around(shape, axis);
  const y = new Float32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let max = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < len; k++) {
        const v = x[base + k * inner];
        if (v > max) max = v;
      }
      let sum = 0;
      for (let k = 0; k < len; k++) sum += Math.exp(x[base + k * inner] - max);
      if (log) {
        const ls = Math.log(sum);
        for (let k = 0; k < len; k++) y[base + k * inner] = x[base + k * inner] - max - ls;
      } else {
        for (let k = 0; k < len; k++) y[base + k * inner] = Math.exp(x[base + k * inner] - max) / sum;
      }
    }
  }
  return { dtype: 'float32', shape, data: y };
}

/**
 * acc[i*N + j] = sum_k A[aOff + i*K + k] * Bt[bOff + j*K + k]: both operands contiguous along K.
 * A 2x4 register block (8 float64 accumulators) keeps the inner loop to 6 loads per 8 multiply-adds.
 */
function gemmNT(
  A: Float32Array,
  aOff: number,
  M: number,
  K: number,
  Bt: Float32Array,
  bOff: number,
  N: number,
  acc: Float64Array,
): void {
  let i = 0;
  for (; i + 1 < M; i += 2) {
    const a0 = aOff + i * K;
    const a1 = a0 + K;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0 = bOff + j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k];
        const x1 = A[a1 + k];
        const y0 = Bt[b0 + k];
        const y1 = Bt[b1 + k];
        const y2 = Bt[b2 + k];
        const y3 = Bt[b3 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      let o = i * N + j;
      acc[o] = s00;
      acc[o + 1] = s01;
      acc[o + 2] = s02;
      acc[o + 3] = s03;
      o += N;
      acc[o] = s10;
      acc[o + 1] = s11;
      acc[o + 2] = s12;
      acc[o + 3] = s13;
    }
    for (; j < N; j++) {
      const b0 = bOff + j * K;
      let s0 = 0;
      let s1 = 0;
      for (let k = 0; k < K; k++) {
        const y = Bt[b0 + k];
        s0 += A[a0 + k] * y;
        s1 += A[a1 + k] * y;
      }
      acc[i * N + j] = s0;
      acc[(i + 1) * N + j] = s1;
    }
  }
  for (; i < M; i++) {
    const a0 = aOff + i * K;
    let j = 0;
    for (; j + 3 < N; j += 4) {
      const b0 = bOff + j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k];
        s0 += x * Bt[b0 + k];
        s1 += x * Bt[b1 + k];
        s2 += x * Bt[b2 + k];
        s3 += x * Bt[b3 + k];
      }
      const o = i * N + j;
      acc[o] = s0;
      acc[o + 1] = s1;
      acc[o + 2] = s2;
      acc[o + 3] = s3;
    }
    for (; j < N; j++) {
      const b0 = bOff + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k] * Bt[b0 + k];
      acc[i * N + j] = s;
    }
  }
}

/** [R, C] -> [C, R] of the matrix at `off`. */
function transpose2d(X: Float32Array, off: number, R: number, C: number): Float32Array {
  const y = new Float32Array(R * C);
  for (let i = 0; i < R; i++) {
    const xo = off + i * C;
    for (let j = 0; j < C; j++) y[j * R + i] = X[xo + j];
  }
  return y;
}

// Transposed copies of constant weight matrices (initializers only), by their data array: weights
// are transposed once, not per run. Initializers are treated as immutable; a caller that rewrites
// one in place must give it a new array.
const transposed = new WeakMap<Float32Array, Float32Array>();

function transposedOf(B: Float32Array, K: number, N: number, cache: boolean): Float32Array {
  if (!cache) return transpose2d(B, 0, K, N);
  let t = transposed.get(B);
  if (!t || t.length !== K * N) {
    t = transpose2d(B, 0, K, N);
    transposed.set(B, t);
  }
  return t;
}

export function gemm(
  A: Float32Array,
  aShape: number[],
  B: Float32Array,
  C: FloatTensor | undefined,
  attrs: { alpha: number; beta: number; transA: number; transB: number },
  outShape: number[],
  bIsWeight = false,
): FloatTensor {
  const [M, N] = outShape;
  const K = attrs.transA ? aShape[0] : aShape[1];
  const acc = new Float64Array(M * N);
  const a = attrs.transA ? transpose2d(A, 0, K, M) : A;
  const bt = attrs.transB ? B : transposedOf(B, K, N, bIsWeight);
  gemmNT(a, 0, M, K, bt, 0, N, acc);
  const y = new Float32Array(M * N);
  const alpha = attrs.alpha;
  if (C && attrs.beta !== 0) {
    const cs = broadcastStrides(C.shape, outShape);
    const cd = C.data;
    const beta = attrs.beta;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) y[i * N + j] = alpha * acc[i * N + j] + beta * cd[i * cs[0] + j * cs[1]];
  } else for (let i = 0; i < M * N; i++) y[i] = alpha * acc[i];
  return { dtype: 'float32', shape: outShape, data: y };
}

export function matmul(
  A: Float32Array,
  aShape: number[],
  B: Float32Array,
  bShape: number[],
  outShape: number[],
  bIsWeight = false,
): FloatTensor {
  const a2 = aShape.length === 1 ? [1, aShape[0]] : aShape;
  const b2 = bShape.length === 1 ? [bShape[0], 1] : bShape;
  const M = a2[a2.length - 2];
  const K = a2[a2.length - 1];
  const N = b2[b2.length - 1];
  const batchShape = outShape.slice(
    0,
    outShape.length - (aShape.length === 1 ? 0 : 1) - (bShape.length === 1 ? 0 : 1),
  );
  const nb = size(batchShape);
  const aBatch = broadcastStrides(a2.slice(0, -2), batchShape);
  const bBatch = broadcastStrides(b2.slice(0, -2), batchShape);
  const y = new Float32Array(nb * M * N);
  const acc = new Float64Array(M * N);
  const idx = new Array<number>(batchShape.length).fill(0);
  const bIs2d = b2.length === 2;
  let ao = 0;
  let bo = 0;
  for (let t = 0; t < nb; t++) {
    const bt = bIs2d ? transposedOf(B, K, N, bIsWeight) : transpose2d(B, bo * K * N, K, N);
    gemmNT(A, ao * M * K, M, K, bt, 0, N, acc);
    const yo = t * M * N;
    for (let i = 0; i < M * N; i++) y[yo + i] = acc[i];
    for (let d = batchShape.length - 1; d >= 0; d--) {
      idx[d]++;
      ao += aBatch[d];
      bo += bBatch[d];
      if (idx[d] < batchShape[d]) break;
      ao -= aBatch[d] * batchShape[d];
      bo -= bBatch[d] * batchShape[d];
      idx[d] = 0;
    }
  }
  return { dtype: 'float32', shape: outShape, data: y };
}

export type WindowAttrs = {
  kernel_shape: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
};

/** 2-D convolution (NCHW): per group, patches gathered as rows (im2col, transposed) and one gemmNT. */
export function conv(
  X: Float32Array,
  xShape: number[],
  W: Float32Array,
  B: Float32Array | undefined,
  attrs: WindowAttrs & { group: number },
  outShape: number[],
): FloatTensor {
  const [N, C, H, Wd] = xShape;
  const [, M, OH, OW] = outShape;
  const [kh, kw] = attrs.kernel_shape;
  const [sh, sw] = attrs.strides;
  const [pt, pl] = attrs.pads;
  const [dh, dw] = attrs.dilations;
  const g = attrs.group;
  const Cg = C / g;
  const Mg = M / g;
  const P = OH * OW;
  const R = Cg * kh * kw;
  const acc = new Float64Array(Mg * P);
  const y = new Float32Array(N * M * P);
  const cols = new Float32Array(P * R);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < g; gi++) {
      const xg = (n * C + gi * Cg) * H * Wd;
      // cols[p*R + r]: row p = output position, r = (c, i, j) within the window.
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * sh - pt;
        for (let ow = 0; ow < OW; ow++) {
          const w0 = ow * sw - pl;
          let r = (oh * OW + ow) * R;
          for (let c = 0; c < Cg; c++) {
            const xc = xg + c * H * Wd;
            for (let i = 0; i < kh; i++) {
              const ih = h0 + i * dh;
              if (ih < 0 || ih >= H) {
                cols.fill(0, r, r + kw);
                r += kw;
                continue;
              }
              const xr = xc + ih * Wd;
              for (let j = 0; j < kw; j++, r++) {
                const iw = w0 + j * dw;
                cols[r] = iw >= 0 && iw < Wd ? X[xr + iw] : 0;
              }
            }
          }
        }
      }
      gemmNT(W, gi * Mg * R, Mg, R, cols, 0, P, acc);
      for (let m = 0; m < Mg; m++) {
        const oc = gi * Mg + m;
        const bias = B ? B[oc] : 0;
        const yo = (n * M + oc) * P;
        const ao = m * P;
        for (let p = 0; p < P; p++) y[yo + p] = acc[ao + p] + bias;
      }
    }
  }
  return { dtype: 'float32', shape: outShape, data: y };
}

export function maxPool(
  X: Float32Array,
  xShape: number[],
  attrs: WindowAttrs,
  outShape: number[],
): FloatTensor {
  const [N, C, H, W] = xShape;
  const [, , OH, OW] = outShape;
  const [kh, kw] = attrs.kernel_shape;
  const [sh, sw] = attrs.strides;
  const [pt, pl] = attrs.pads;
  const [dh, dw] = attrs.dilations;
  const y = new Float32Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    const yo = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * sw - pl;
        let m = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < kh; i++) {
          const ih = h0 + i * dh;
          if (ih < 0 || ih >= H) continue;
          const xr = xo + ih * W;
          for (let j = 0; j < kw; j++) {
            const iw = w0 + j * dw;
            if (iw < 0 || iw >= W) continue;
            const v = X[xr + iw];
            if (v > m) m = v;
          }
        }
        y[yo + oh * OW + ow] = m;
      }
    }
  }
  return { dtype: 'float32', shape: outShape, data: y };
}

/** Average pooling; with count_include_pad the divisor counts padding but not the ceil_mode overhang. */
export function averagePool(
  X: Float32Array,
  xShape: number[],
  attrs: WindowAttrs & { count_include_pad: number },
  outShape: number[],
): FloatTensor {
  const [N, C, H, W] = xShape;
  const [, , OH, OW] = outShape;
  const [kh, kw] = attrs.kernel_shape;
  const [sh, sw] = attrs.strides;
  const [pt, pl, pb, pr] = attrs.pads;
  const include = attrs.count_include_pad !== 0;
  const y = new Float32Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++) {
    const xo = nc * H * W;
    const yo = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      let hs = oh * sh - pt;
      let he = Math.min(hs + kh, H + pb);
      const hPadded = he - hs;
      hs = Math.max(hs, 0);
      he = Math.min(he, H);
      for (let ow = 0; ow < OW; ow++) {
        let ws = ow * sw - pl;
        let we = Math.min(ws + kw, W + pr);
        const wPadded = we - ws;
        ws = Math.max(ws, 0);
        we = Math.min(we, W);
        let s = 0;
        for (let ih = hs; ih < he; ih++) {
          const xr = xo + ih * W;
          for (let iw = ws; iw < we; iw++) s += X[xr + iw];
        }
        const count = include ? hPadded * wPadded : (he - hs) * (we - ws);
        y[yo + oh * OW + ow] = count > 0 ? s / count : 0;
      }
    }
  }
  return { dtype: 'float32', shape: outShape, data: y };
}

export function globalAveragePool(X: Float32Array, xShape: number[], outShape: number[]): FloatTensor {
  const nc = xShape[0] * xShape[1];
  const len = size(xShape.slice(2));
  const y = new Float32Array(nc);
  for (let i = 0; i < nc; i++) {
    let s = 0;
    const o = i * len;
    for (let k = 0; k < len; k++) s += X[o + k];
    y[i] = s / len;
  }
  return { dtype: 'float32', shape: outShape, data: y };
}

function like(t: Tensor, n: number): Float32Array | Int32Array {
  return t.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
}

function make(t: Tensor, shape: number[], data: Float32Array | Int32Array): Tensor {
  return { dtype: t.dtype, shape, data } as Tensor;
}

/** Shape-only ops share the input's data. */
export function view(t: Tensor, shape: number[]): Tensor {
  return make(t, shape, t.data);
}

export function transpose(t: Tensor, perm: number[], outShape: number[]): Tensor {
  const r = perm.length;
  const n = t.data.length;
  const y = like(t, n);
  const X = t.data;
  if (r === 2 && perm[0] === 1) {
    const [R, C] = t.shape;
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) y[j * R + i] = X[i * C + j];
    return make(t, outShape, y);
  }
  const inStrides = stridesOf(t.shape);
  // Stride in the input of each output axis.
  const s = perm.map((p) => inStrides[p]);
  const idx = new Array<number>(r).fill(0);
  let xo = 0;
  for (let o = 0; o < n; o++) {
    y[o] = X[xo];
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      xo += s[d];
      if (idx[d] < outShape[d]) break;
      xo -= s[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return make(t, outShape, y);
}

export function concat(ts: Tensor[], axis: number, outShape: number[], where: Where): Tensor {
  const first = ts[0];
  for (const t of ts)
    if (t.dtype !== first.dtype) throw new ModelError('inputs must share one element type', where);
  const y = like(first, size(outShape));
  const [outer, , inner] = around(outShape, axis);
  const rowOut = outShape[axis] * inner;
  let off = 0;
  for (const t of ts) {
    const rowIn = t.shape[axis] * inner;
    for (let o = 0; o < outer; o++) y.set(t.data.subarray(o * rowIn, (o + 1) * rowIn), o * rowOut + off);
    off += rowIn;
  }
  return make(first, outShape, y);
}

export function gather(
  data: Tensor,
  indices: Tensor,
  axis: number,
  outShape: number[],
  where: Where,
): Tensor {
  if (indices.dtype !== 'int32') throw new ModelError('indices must be integers', where);
  const [outer, len, inner] = around(data.shape, axis);
  const ni = indices.data.length;
  const y = like(data, outer * ni * inner);
  const X = data.data;
  for (let k = 0; k < ni; k++) {
    let ix = indices.data[k];
    if (ix < -len || ix >= len) throw new ModelError(`index ${ix} is out of range [${-len}, ${len})`, where);
    if (ix < 0) ix += len;
    for (let o = 0; o < outer; o++) {
      const src = (o * len + ix) * inner;
      y.set(X.subarray(src, src + inner), (o * ni + k) * inner);
    }
  }
  return make(data, outShape, y);
}

export function argMax(
  X: Float32Array,
  shape: number[],
  axis: number,
  selectLast: boolean,
  outShape: number[],
): IntTensor {
  const [outer, len, inner] = around(shape, axis);
  const y = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let best = 0;
      let bv = X[base];
      for (let k = 1; k < len; k++) {
        const v = X[base + k * inner];
        if (v > bv || (selectLast && v === bv)) {
          bv = v;
          best = k;
        }
      }
      y[o * inner + i] = best;
    }
  }
  return { dtype: 'int32', shape: outShape, data: y };
}

export function reduceMean(
  X: Float32Array,
  shape: number[],
  axes: number[],
  outShape: number[],
): FloatTensor {
  const r = shape.length;
  // Output strides seen from each input axis (0 on reduced axes).
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const os = broadcastStrides(keptShape, shape).map((s, i) => (axes.includes(i) ? 0 : s));
  const outN = size(keptShape);
  const acc = new Float64Array(outN);
  const idx = new Array<number>(r).fill(0);
  let oo = 0;
  const n = X.length;
  for (let k = 0; k < n; k++) {
    acc[oo] += X[k];
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      oo += os[d];
      if (idx[d] < shape[d]) break;
      oo -= os[d] * shape[d];
      idx[d] = 0;
    }
  }
  let count = 1;
  for (const a of axes) count *= shape[a];
  const y = new Float32Array(outN);
  for (let i = 0; i < outN; i++) y[i] = acc[i] / count;
  return { dtype: 'float32', shape: outShape, data: y };
}

/** Expands a tensor broadcastable to `shape` into a full array of that shape. */
function expandTo(t: FloatTensor, shape: number[]): Float32Array {
  const n = size(shape);
  if (t.data.length === n) return t.data;
  const s = broadcastStrides(t.shape, shape);
  const y = new Float32Array(n);
  forEachBroadcast(shape, s, s, (o, a) => {
    y[o] = t.data[a];
  });
  return y;
}

export function layerNorm(
  X: Float32Array,
  shape: number[],
  scale: FloatTensor,
  bias: FloatTensor | undefined,
  axis: number,
  epsilon: number,
): FloatTensor {
  const normShape = shape.slice(axis);
  const inner = size(normShape);
  const outer = inner === 0 ? 0 : X.length / inner;
  const g = expandTo(scale, normShape);
  const b = bias ? expandTo(bias, normShape) : undefined;
  const y = new Float32Array(X.length);
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    let mean = 0;
    for (let k = 0; k < inner; k++) mean += X[base + k];
    mean /= inner;
    let v = 0;
    for (let k = 0; k < inner; k++) {
      const d = X[base + k] - mean;
      v += d * d;
    }
    const inv = 1 / Math.sqrt(v / inner + epsilon);
    if (b) for (let k = 0; k < inner; k++) y[base + k] = (X[base + k] - mean) * inv * g[k] + b[k];
    else for (let k = 0; k < inner; k++) y[base + k] = (X[base + k] - mean) * inv * g[k];
  }
  return { dtype: 'float32', shape, data: y };
}
