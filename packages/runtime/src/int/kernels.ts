// Integer-only kernels of the quantized runtime, one per `Kernel` of src/quant/model.ts. Each is
// the reference implementation of its section in docs/runtime-semantics.md: integer typed arrays
// in, integer typed arrays out, every intermediate an exact integer below 2^53 (see arith.ts).
// Kernels allocate only their outputs and small scratch buffers, never per element.
// Browser-safe: no node: imports.
import { ModelError } from '../graph.ts';
import type { IntArray } from '../quant/model.ts';
import { bitLength, isqrt, POW2 } from './arith.ts';
import { wasmConv, wasmLinear, wasmMaxPool2, wasmRelu } from './wasm-gemm.ts';

/** Below this many multiply-adds the JavaScript loop is faster than a call into wasm. */
const WASM_MIN_MACS = 2048;

/**
 * Free int8 buffers by length, reused for kernel outputs. runInt installs a model's pool while it
 * runs without a trace and hands back intermediates after their last use: allocating (and
 * zeroing, and collecting) large typed arrays costs as much as the kernels themselves. Every
 * kernel writes every element of its output, so a reused buffer's old contents never leak.
 */
export class BufferPool {
  private readonly free = new Map<number, Int8Array[]>();
  take(n: number): Int8Array | undefined {
    return this.free.get(n)?.pop();
  }
  give(a: Int8Array): void {
    const list = this.free.get(a.length);
    if (list) list.push(a);
    else this.free.set(a.length, [a]);
  }
}

let pool: BufferPool | undefined;

/** Runs `f` with `p` supplying kernel output buffers. */
export function withPool<T>(p: BufferPool | undefined, f: () => T): T {
  const prev = pool;
  pool = p;
  try {
    return f();
  } finally {
    pool = prev;
  }
}

function alloc8(n: number): Int8Array {
  return pool?.take(n) ?? new Int8Array(n);
}

type Where = { node: string; op: string };

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Splits a shape around an axis into (outer, axis, inner) element counts. */
export function around(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

// ---------------------------------------------------------------------------------------------
// Dot products with per-channel requantization: the hot loop of linear, conv and matmul.

/**
 * For r in [0, rows), n in [0, N):
 *   acc = bias[cOff+n] + Σ_{k<K} A[aOff + r·K + k] · W[wOff + n·K + k]
 *   out[oOff + r·ors + n·ocs] = clamp127(rescale(acc, mult[cOff+n], shift[cOff+n]))
 * The sum is exact in any order: the quantizer bounds |acc| ≤ 2^31 - 1. Large products go
 * through the wasm SIMD kernel (same integers), small ones through the loop below.
 */
export function dotRequant(
  A: IntArray,
  aOff: number,
  rows: number,
  K: number,
  W: Int8Array,
  wOff: number,
  N: number,
  bias: Int32Array,
  mult: Int32Array,
  shift: Int32Array,
  cOff: number,
  out: Int8Array,
  oOff: number,
  ors: number,
  ocs: number,
  cacheW = true,
): void {
  if (
    A instanceof Int8Array &&
    ors === N &&
    ocs === 1 &&
    rows * N * K >= WASM_MIN_MACS &&
    wasmLinear(A, aOff, rows, K, W, wOff, N, bias, mult, shift, cOff, out, oOff, cacheW)
  )
    return;
  const K4 = K - (K % 4);
  for (let r = 0; r < rows; r++) {
    const a0 = aOff + r * K;
    const o0 = oOff + r * ors;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      const w0 = wOff + n * K;
      const w1 = w0 + K;
      const w2 = w1 + K;
      const w3 = w2 + K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k < K4; k += 4) {
        const x0 = A[a0 + k];
        const x1 = A[a0 + k + 1];
        const x2 = A[a0 + k + 2];
        const x3 = A[a0 + k + 3];
        s0 += x0 * W[w0 + k] + x1 * W[w0 + k + 1] + x2 * W[w0 + k + 2] + x3 * W[w0 + k + 3];
        s1 += x0 * W[w1 + k] + x1 * W[w1 + k + 1] + x2 * W[w1 + k + 2] + x3 * W[w1 + k + 3];
        s2 += x0 * W[w2 + k] + x1 * W[w2 + k + 1] + x2 * W[w2 + k + 2] + x3 * W[w2 + k + 3];
        s3 += x0 * W[w3 + k] + x1 * W[w3 + k + 1] + x2 * W[w3 + k + 2] + x3 * W[w3 + k + 3];
      }
      for (; k < K; k++) {
        const x = A[a0 + k];
        s0 += x * W[w0 + k];
        s1 += x * W[w1 + k];
        s2 += x * W[w2 + k];
        s3 += x * W[w3 + k];
      }
      const c = cOff + n;
      out[o0 + n * ocs] = rq8(s0 + bias[c], mult[c], shift[c]);
      out[o0 + (n + 1) * ocs] = rq8(s1 + bias[c + 1], mult[c + 1], shift[c + 1]);
      out[o0 + (n + 2) * ocs] = rq8(s2 + bias[c + 2], mult[c + 2], shift[c + 2]);
      out[o0 + (n + 3) * ocs] = rq8(s3 + bias[c + 3], mult[c + 3], shift[c + 3]);
    }
    for (; n < N; n++) {
      const w0 = wOff + n * K;
      let s0 = 0;
      for (let k = 0; k < K; k++) s0 += A[a0 + k] * W[w0 + k];
      const c = cOff + n;
      out[o0 + n * ocs] = rq8(s0 + bias[c], mult[c], shift[c]);
    }
  }
}

/** clamp127(rescale(x, m, s)), inlined by the engine into the kernels. */
function rq8(x: number, m: number, s: number): number {
  const y = s === 0 ? x * m : Math.floor((x * m + POW2[s - 1]) / POW2[s]);
  return y > 127 ? 127 : Math.max(y, -127);
}

/** Linear layer: A [rows, K] (int8) times the stored weights [N, K]; out [rows, N]. */
export function linear(
  A: IntArray,
  rows: number,
  K: number,
  W: Int8Array,
  N: number,
  bias: Int32Array,
  mult: Int32Array,
  shift: Int32Array,
): Int8Array {
  const out = alloc8(rows * N);
  dotRequant(A, 0, rows, K, W, 0, N, bias, mult, shift, 0, out, 0, N, 1);
  return out;
}

/** Transposes a [rows, cols] block starting at `off` into a fresh [cols, rows] array of the same type. */
export function transpose2d(X: IntArray, off: number, rows: number, cols: number): IntArray {
  const y = new (X.constructor as new (n: number) => IntArray)(rows * cols);
  for (let i = 0; i < rows; i++) {
    const xo = off + i * cols;
    for (let j = 0; j < cols; j++) y[j * rows + i] = X[xo + j];
  }
  return y;
}

export type ConvAttrs = {
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
};

/**
 * 2-D convolution, NCHW, weights [O, C/group, kh, kw] int8, zero padding (0 is the real zero).
 * Computed as im2col (one [OH·OW, C/group·kh·kw] int8 buffer per image and group) followed by
 * dotRequant; the sum for each output is exact, so the order is irrelevant.
 */
export function conv2d(
  X: Int8Array,
  xShape: readonly number[],
  W: Int8Array,
  O: number,
  bias: Int32Array,
  mult: Int32Array,
  shift: Int32Array,
  a: ConvAttrs,
  OH: number,
  OW: number,
): Int8Array {
  const [B, C, H, Wd] = xShape;
  const G = a.group;
  const Cg = C / G;
  const Og = O / G;
  const Kc = Cg * a.kernel[0] * a.kernel[1];
  const P = OH * OW;
  const out = alloc8(B * O * P);
  let cols: Int8Array | undefined;
  const geo = {
    C: Cg,
    H,
    W: Wd,
    kernel: a.kernel,
    strides: a.strides,
    pads: a.pads,
    dilations: a.dilations,
    OH,
    OW,
  };
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < G; g++) {
      const xBase = (b * C + g * Cg) * H * Wd;
      const oOff = (b * O + g * Og) * P;
      if (
        P * Og * Kc >= WASM_MIN_MACS &&
        wasmConv(X, xBase, geo, W, g * Og * Kc, Og, bias, mult, shift, g * Og, out, oOff)
      )
        continue;
      cols ??= new Int8Array(P * Kc);
      im2col(X, xBase, Cg, H, Wd, a, OH, OW, cols, Kc);
      dotRequant(cols, 0, P, Kc, W, g * Og * Kc, Og, bias, mult, shift, g * Og, out, oOff, 1, P);
    }
  }
  return out;
}

/**
 * The im2col matrix of one image and group: row p = oh·OW + ow holds the Cg·kh·kw window values
 * (c-major, then kernel row, then column), 0 outside the input, from dst[p·kp]; entries
 * [Kc, kp) of each row are zeroed.
 */
function im2col(
  X: Int8Array,
  xBase: number,
  Cg: number,
  H: number,
  Wd: number,
  a: ConvAttrs,
  OH: number,
  OW: number,
  dst: Int8Array,
  kp: number,
): void {
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.strides;
  const [pt, pl] = a.pads;
  const [dh, dw] = a.dilations;
  const Kc = Cg * kh * kw;
  let p = 0;
  for (let oh = 0; oh < OH; oh++) {
    const ih0 = oh * sh - pt;
    const rowsInside = ih0 >= 0 && ih0 + (kh - 1) * dh < H;
    for (let ow = 0; ow < OW; ow++, p++) {
      const iw0 = ow * sw - pl;
      let q = p * kp;
      if (rowsInside && iw0 >= 0 && iw0 + (kw - 1) * dw < Wd) {
        // The whole window lies inside the input: no bounds checks.
        for (let c = 0; c < Cg; c++) {
          let xr = xBase + c * H * Wd + ih0 * Wd + iw0;
          for (let i = 0; i < kh; i++, xr += dh * Wd) for (let j = 0; j < kw; j++) dst[q++] = X[xr + j * dw];
        }
        for (let k = Kc; k < kp; k++) dst[q++] = 0;
        continue;
      }
      for (let c = 0; c < Cg; c++) {
        const xc = xBase + c * H * Wd;
        for (let i = 0; i < kh; i++) {
          const ih = ih0 + i * dh;
          if (ih < 0 || ih >= H) {
            for (let j = 0; j < kw; j++) dst[q++] = 0;
            continue;
          }
          const xr = xc + ih * Wd;
          for (let j = 0; j < kw; j++) {
            const iw = iw0 + j * dw;
            dst[q++] = iw >= 0 && iw < Wd ? X[xr + iw] : 0;
          }
        }
      }
      for (let k = Kc; k < kp; k++) dst[q++] = 0;
    }
  }
}

/**
 * Matrix product of two quantized activations with broadcast batch dims, one multiplier:
 * out[..., m, n] = clamp127(rescale(Σ_k A[..., m, k] · B[..., k, n], mult, shift)).
 * Shapes are given as [batch..., M, K] and [batch..., K, N] after rank-1 promotion.
 */
export function matmul(
  A: Int8Array,
  aShape: readonly number[],
  Bm: Int8Array,
  bShape: readonly number[],
  outBatch: readonly number[],
  mult: number,
  shift: number,
): Int8Array {
  const M = aShape[aShape.length - 2];
  const K = aShape[aShape.length - 1];
  const N = bShape[bShape.length - 1];
  const nb = sizeOf(outBatch);
  const out = alloc8(nb * M * N);
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const as = broadcastStrides(aBatch, outBatch);
  const bs = broadcastStrides(bBatch, outBatch);
  const idx = new Array<number>(outBatch.length).fill(0);
  const biasZero = new Int32Array(N);
  const multArr = new Int32Array(N).fill(mult);
  const shiftArr = new Int32Array(N).fill(shift);
  for (let t = 0; t < nb; t++) {
    let ao = 0;
    let bo = 0;
    for (let d = 0; d < idx.length; d++) {
      ao += idx[d] * as[d];
      bo += idx[d] * bs[d];
    }
    const bt = transpose2d(Bm, bo * K * N, K, N) as Int8Array;
    dotRequant(A, ao * M * K, M, K, bt, 0, N, biasZero, multArr, shiftArr, 0, out, t * M * N, N, 1, false);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < outBatch[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Broadcasting elementwise kernels.

/** Strides of `shape` (right-aligned) seen through numpy broadcasting into `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const own = stridesOf(shape);
  const out = new Array<number>(r).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const j = r - shape.length + i;
    out[j] = shape[i] === 1 && outShape[j] !== 1 ? 0 : own[i];
  }
  return out;
}

/**
 * A broadcast iteration plan: the output is `rows` rows of `inner` contiguous elements; row t
 * reads A from aRow[t] with step aStep and B from bRow[t] with step bStep (0 when broadcast).
 * Adjacent dimensions with the same broadcast pattern are merged first.
 */
export type BroadcastPlan = {
  rows: number;
  inner: number;
  aRow: Int32Array;
  bRow: Int32Array;
  aStep: number;
  bStep: number;
};

export function broadcastPlan(
  aShape: readonly number[],
  bShape: readonly number[],
  outShape: readonly number[],
): BroadcastPlan {
  const as0 = broadcastStrides(aShape, outShape);
  const bs0 = broadcastStrides(bShape, outShape);
  // Merge dims i-1 and i when both strides of i-1 equal stride(i)·size(i).
  const dims: number[] = [];
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (outShape[i] === 1) continue;
    const l = dims.length - 1;
    if (l >= 0 && as[l] === as0[i] * outShape[i] && bs[l] === bs0[i] * outShape[i]) {
      dims[l] *= outShape[i];
      as[l] = as0[i];
      bs[l] = bs0[i];
    } else {
      dims.push(outShape[i]);
      as.push(as0[i]);
      bs.push(bs0[i]);
    }
  }
  const r = dims.length;
  const inner = r === 0 ? 1 : dims[r - 1];
  const rows = sizeOf(outShape) / (inner || 1);
  const aRow = new Int32Array(rows);
  const bRow = new Int32Array(rows);
  const idx = new Array<number>(Math.max(r - 1, 0)).fill(0);
  let ao = 0;
  let bo = 0;
  for (let t = 0; t < rows; t++) {
    aRow[t] = ao;
    bRow[t] = bo;
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      ao += as[d];
      bo += bs[d];
      if (idx[d] < dims[d]) break;
      ao -= as[d] * dims[d];
      bo -= bs[d] * dims[d];
      idx[d] = 0;
    }
  }
  return { rows, inner, aRow, bRow, aStep: r === 0 ? 0 : as[r - 1], bStep: r === 0 ? 0 : bs[r - 1] };
}

/** out = clamp127(floor((a·ma + b·mb + 2^(s-1)) / 2^s)): Add (mb > 0) and Sub (mb < 0). */
export function addScaled(
  A: IntArray,
  Bv: IntArray,
  plan: BroadcastPlan,
  ma: number,
  mb: number,
  s: number,
): Int8Array {
  const { rows, inner, aRow, bRow, aStep, bStep } = plan;
  const out = alloc8(rows * inner);
  const half = s === 0 ? 0 : POW2[s - 1];
  const div = POW2[s];
  for (let t = 0; t < rows; t++) {
    const ao = aRow[t];
    const bo = bRow[t];
    const oo = t * inner;
    for (let j = 0; j < inner; j++) {
      const y = Math.floor((A[ao + j * aStep] * ma + Bv[bo + j * bStep] * mb + half) / div);
      out[oo + j] = y > 127 ? 127 : Math.max(y, -127);
    }
  }
  return out;
}

/** out = clamp127(rescale(a·b, m, s)). */
export function mulScaled(A: IntArray, Bv: IntArray, plan: BroadcastPlan, m: number, s: number): Int8Array {
  const { rows, inner, aRow, bRow, aStep, bStep } = plan;
  const out = alloc8(rows * inner);
  for (let t = 0; t < rows; t++) {
    const ao = aRow[t];
    const bo = bRow[t];
    const oo = t * inner;
    for (let j = 0; j < inner; j++) out[oo + j] = rq8(A[ao + j * aStep] * Bv[bo + j * bStep], m, s);
  }
  return out;
}

/** out = clamp127(rescale(a · recip[b + 128], m, s)); b is int8. */
export function divScaled(
  A: IntArray,
  Bv: IntArray,
  plan: BroadcastPlan,
  recip: Int32Array,
  m: number,
  s: number,
): Int8Array {
  const { rows, inner, aRow, bRow, aStep, bStep } = plan;
  const out = alloc8(rows * inner);
  for (let t = 0; t < rows; t++) {
    const ao = aRow[t];
    const bo = bRow[t];
    const oo = t * inner;
    for (let j = 0; j < inner; j++)
      out[oo + j] = rq8(A[ao + j * aStep] * recip[Bv[bo + j * bStep] + 128], m, s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Unary kernels.

/** out[i] = table[x[i] + 128] (256 entries, one per int8 value). */
export function lookup(X: Int8Array, table: Int8Array): Int8Array {
  const n = X.length;
  const out = alloc8(n);
  for (let i = 0; i < n; i++) out[i] = table[X[i] + 128];
  return out;
}

export function relu(X: Int8Array): Int8Array {
  const n = X.length;
  const out = alloc8(n);
  if (n >= 1024 && wasmRelu(X, out)) return out;
  for (let i = 0; i < n; i++) {
    const v = X[i];
    out[i] = Math.max(v, 0);
  }
  return out;
}

export function clip(X: Int8Array, lo: number, hi: number): Int8Array {
  const n = X.length;
  const out = alloc8(n);
  for (let i = 0; i < n; i++) {
    const v = X[i];
    out[i] = v < lo ? lo : Math.min(v, hi);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pooling and reductions.

export type PoolAttrs = {
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
};

/** Max over the window positions inside the input (padding never wins); same scale in and out. */
export function maxPool(
  X: Int8Array,
  xShape: readonly number[],
  a: PoolAttrs,
  OH: number,
  OW: number,
): Int8Array {
  const [B, C, H, Wd] = xShape;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.strides;
  const [pt, pl] = a.pads;
  const [dh, dw] = a.dilations;
  const out = alloc8(B * C * OH * OW);
  if (
    kh === 2 &&
    kw === 2 &&
    sh === 2 &&
    sw === 2 &&
    pt === 0 &&
    pl === 0 &&
    dh === 1 &&
    dw === 1 &&
    2 * OH <= H &&
    2 * OW <= Wd
  ) {
    // The common 2x2/2 window without padding.
    if (X.length >= 1024 && wasmMaxPool2(X, B * C, H, Wd, OH, OW, out)) return out;
    for (let nc = 0; nc < B * C; nc++) {
      const xo = nc * H * Wd;
      let o = nc * OH * OW;
      for (let oh = 0; oh < OH; oh++) {
        let r0 = xo + 2 * oh * Wd;
        for (let ow = 0; ow < OW; ow++, r0 += 2) {
          const a = Math.max(X[r0], X[r0 + 1]);
          const b = Math.max(X[r0 + Wd], X[r0 + Wd + 1]);
          out[o++] = Math.max(a, b);
        }
      }
    }
    return out;
  }
  for (let nc = 0; nc < B * C; nc++) {
    const xo = nc * H * Wd;
    const yo = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++) {
        const iw0 = ow * sw - pl;
        let best = -128;
        for (let i = 0; i < kh; i++) {
          const ih = ih0 + i * dh;
          if (ih < 0 || ih >= H) continue;
          const xr = xo + ih * Wd;
          for (let j = 0; j < kw; j++) {
            const iw = iw0 + j * dw;
            if (iw < 0 || iw >= Wd) continue;
            const v = X[xr + iw];
            if (v > best) best = v;
          }
        }
        out[yo + oh * OW + ow] = best === -128 ? 0 : best;
      }
    }
  }
  return out;
}

/**
 * Average pool: sum of the window's in-input values, then requantized by the multiplier and
 * shift of its divisor `count` (mult[count], shift[count]); count is the padded window size
 * clipped to the padded input when includePad, else the number of in-input positions.
 */
export function avgPool(
  X: Int8Array,
  xShape: readonly number[],
  a: PoolAttrs,
  includePad: boolean,
  mult: Int32Array,
  shift: Int32Array,
  OH: number,
  OW: number,
): Int8Array {
  const [B, C, H, Wd] = xShape;
  const [kh, kw] = a.kernel;
  const [sh, sw] = a.strides;
  const [pt, pl, pb, pr] = a.pads;
  const out = alloc8(B * C * OH * OW);
  for (let nc = 0; nc < B * C; nc++) {
    const xo = nc * H * Wd;
    const yo = nc * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      let hs = oh * sh - pt;
      let he = Math.min(hs + kh, H + pb);
      const hPadded = he - hs;
      hs = Math.max(hs, 0);
      he = Math.min(he, H);
      for (let ow = 0; ow < OW; ow++) {
        let ws = ow * sw - pl;
        let we = Math.min(ws + kw, Wd + pr);
        const wPadded = we - ws;
        ws = Math.max(ws, 0);
        we = Math.min(we, Wd);
        let s = 0;
        for (let ih = hs; ih < he; ih++) {
          const xr = xo + ih * Wd;
          for (let iw = ws; iw < we; iw++) s += X[xr + iw];
        }
        const count = includePad ? hPadded * wPadded : (he - hs) * (we - ws);
        out[yo + oh * OW + ow] = count > 0 ? rq8(s, mult[count], shift[count]) : 0;
      }
    }
  }
  return out;
}

/** Sum over `axes` (exact), then one requantization: ReduceMean and GlobalAveragePool. */
export function reduceMean(
  X: Int8Array,
  shape: readonly number[],
  axes: readonly number[],
  m: number,
  s: number,
): Int8Array {
  const r = shape.length;
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outN = sizeOf(keptShape);
  const acc = new Int32Array(outN);
  // Fast path: the reduced axes are the trailing ones (GlobalAveragePool, LayerNorm-style means).
  let trailing = true;
  for (let i = 0; i < axes.length; i++) if (!axes.includes(r - 1 - i)) trailing = false;
  if (trailing) {
    const len = outN === 0 ? 0 : X.length / outN;
    for (let o = 0; o < outN; o++) {
      let t = 0;
      const base = o * len;
      for (let k = 0; k < len; k++) t += X[base + k];
      acc[o] = t;
    }
  } else {
    const os = broadcastStrides(keptShape, shape).map((st, i) => (axes.includes(i) ? 0 : st));
    const idx = new Array<number>(r).fill(0);
    let oo = 0;
    for (let k = 0; k < X.length; k++) {
      acc[oo] += X[k];
      for (let d = r - 1; d >= 0; d--) {
        idx[d]++;
        oo += os[d];
        if (idx[d] < shape[d]) break;
        oo -= os[d] * shape[d];
        idx[d] = 0;
      }
    }
  }
  const out = alloc8(outN);
  for (let i = 0; i < outN; i++) out[i] = rq8(acc[i], m, s);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Softmax, LogSoftmax, LayerNormalization.

/**
 * Softmax along an axis: d = max - x ∈ [0, 254], e = expTable[d] (round(2^15·exp(-d·S_in))),
 * sum = Σ e, out = min(127, floor((e·P + floor(sum/2)) / sum)) with S_out = 1/P.
 */
export function softmax(
  X: Int8Array,
  shape: readonly number[],
  axis: number,
  expTable: Int32Array,
  P: number,
): Int8Array {
  const [outer, len, inner] = around(shape, axis);
  const out = alloc8(X.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let mx = -128;
      for (let k = 0; k < len; k++) {
        const v = X[base + k * inner];
        if (v > mx) mx = v;
      }
      let sum = 0;
      for (let k = 0; k < len; k++) sum += expTable[mx - X[base + k * inner]];
      const half = Math.floor(sum / 2);
      for (let k = 0; k < len; k++) {
        const y = Math.floor((expTable[mx - X[base + k * inner]] * P + half) / sum);
        out[base + k * inner] = Math.min(y, 127);
      }
    }
  }
  return out;
}

/** ln 2 in the 2^-16 fixed point of the log-sum-exp: round(ln(2) · 2^16). */
export const LN2_Q16 = 45426;

/**
 * The log of a softmax denominator: for sum ≥ 2^15 (the exp table's scale),
 * lse = (b - 15)·LN2_Q16 + logTable[floor(sum / 2^(b-8)) - 256] with b = bitLength(sum) - 1,
 * ≈ ln(sum / 2^15) · 2^16.
 */
export function logSumQ16(sum: number, logTable: Int32Array): number {
  const b = bitLength(sum) - 1;
  return (b - 15) * LN2_Q16 + logTable[Math.floor(sum / POW2[b - 8]) - 256];
}

/**
 * LogSoftmax along an axis: d = x - max (≤ 0), lse as in logSumQ16,
 * out = clamp127(floor((d·md - lse·ml + 2^(s-1)) / 2^s)).
 */
export function logSoftmax(
  X: Int8Array,
  shape: readonly number[],
  axis: number,
  expTable: Int32Array,
  logTable: Int32Array,
  md: number,
  ml: number,
  s: number,
): Int8Array {
  const [outer, len, inner] = around(shape, axis);
  const out = alloc8(X.length);
  const half = s === 0 ? 0 : POW2[s - 1];
  const div = POW2[s];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let mx = -128;
      for (let k = 0; k < len; k++) {
        const v = X[base + k * inner];
        if (v > mx) mx = v;
      }
      let sum = 0;
      for (let k = 0; k < len; k++) sum += expTable[mx - X[base + k * inner]];
      const lseMl = logSumQ16(sum, logTable) * ml;
      for (let k = 0; k < len; k++) {
        const y = Math.floor(((X[base + k * inner] - mx) * md - lseMl + half) / div);
        out[base + k * inner] = y > 127 ? 127 : Math.max(y, -127);
      }
    }
  }
  return out;
}

/** The fixed fraction bits of the LayerNorm bias stage (`h` in the spec). */
export const LAYER_NORM_H = 15;

/**
 * LayerNormalization over the last `n` elements of each row (docs/runtime-semantics.md):
 *   sum = Σq, c_i = n·q_i - sum, V = Σ c_i² + eps
 *   e = floor((bitLength(V) - 29) / 2), m = V / 4^e (floor; exact when e ≤ 0) ∈ [2^28, 2^30)
 *   r = isqrt(m), inv = floor((2^31 + r) / (2r))            (≈ 2^30 / r; 0 when V = 0)
 *   u_i = rescale(c_i·inv·gamma_i, 1, 30 + e + g - h)
 *   out_i = clamp127(rescale(u_i + beta_i, 1, h))
 */
export function layerNorm(
  X: Int8Array,
  n: number,
  gamma: Int32Array,
  beta: Int32Array,
  eps: number,
  g: number,
): Int8Array {
  const h = LAYER_NORM_H;
  const rows = n === 0 ? 0 : X.length / n;
  const out = alloc8(X.length);
  const halfH = POW2[h - 1];
  const divH = POW2[h];
  for (let row = 0; row < rows; row++) {
    const base = row * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += X[base + i];
    let v = eps;
    for (let i = 0; i < n; i++) {
      const c = n * X[base + i] - sum;
      v += c * c;
    }
    let inv = 0;
    let e = 0;
    if (v > 0) {
      e = Math.floor((bitLength(v) - 29) / 2);
      const m = e >= 0 ? Math.floor(v / POW2[2 * e]) : v * POW2[-2 * e];
      const r = isqrt(m);
      inv = Math.floor((2147483648 + r) / (2 * r));
    }
    const k = 30 + e + g - h;
    const halfK = POW2[k - 1];
    const divK = POW2[k];
    for (let i = 0; i < n; i++) {
      const t = (n * X[base + i] - sum) * inv;
      const u = Math.floor((t * gamma[i] + halfK) / divK);
      const y = Math.floor((u + beta[i] + halfH) / divH);
      out[base + i] = y > 127 ? 127 : Math.max(y, -127);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Data movement: exact copies (the scale passes through unchanged) except Concat's requantization.

function like(X: IntArray, n: number): IntArray {
  return new (X.constructor as new (n: number) => IntArray)(n);
}

export function transpose(X: IntArray, shape: readonly number[], perm: readonly number[]): IntArray {
  const r = perm.length;
  const n = X.length;
  const y = like(X, n);
  const outShape = perm.map((p) => shape[p]);
  const inStrides = stridesOf(shape);
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
  return y;
}

/**
 * Concatenation along `axis`; input k is requantized into the output type by (mult[k], shift[k])
 * when `mult` is given (quantized values), copied otherwise (index values).
 */
export function concat(
  parts: readonly IntArray[],
  shapes: readonly (readonly number[])[],
  axis: number,
  outShape: readonly number[],
  out: IntArray,
  mult?: Int32Array,
  shift?: Int32Array,
): IntArray {
  const [outer, , inner] = around(outShape, axis);
  const rowOut = outShape[axis] * inner;
  let off = 0;
  for (let k = 0; k < parts.length; k++) {
    const X = parts[k];
    const rowIn = shapes[k][axis] * inner;
    if (mult && shift && !(mult[k] === 1 && shift[k] === 0)) {
      const m = mult[k];
      const s = shift[k];
      for (let o = 0; o < outer; o++)
        for (let j = 0; j < rowIn; j++) out[o * rowOut + off + j] = rq8(X[o * rowIn + j], m, s);
    } else {
      for (let o = 0; o < outer; o++) out.set(X.subarray(o * rowIn, (o + 1) * rowIn), o * rowOut + off);
    }
    off += rowIn;
  }
  return out;
}

/** Gather along `axis`; negative indices count from the end; out-of-range indices are an error. */
export function gather(
  X: IntArray,
  shape: readonly number[],
  indices: Int32Array,
  axis: number,
  where: Where,
): IntArray {
  const [outer, len, inner] = around(shape, axis);
  const ni = indices.length;
  const y = like(X, outer * ni * inner);
  for (let k = 0; k < ni; k++) {
    let ix = indices[k];
    if (ix < -len || ix >= len) throw new ModelError(`index ${ix} is out of range [${-len}, ${len})`, where);
    if (ix < 0) ix += len;
    for (let o = 0; o < outer; o++) {
      const src = (o * len + ix) * inner;
      y.set(X.subarray(src, src + inner), (o * ni + k) * inner);
    }
  }
  return y;
}

/** Index of the maximum along `axis`: the first one, or the last with selectLast. */
export function argMax(X: IntArray, shape: readonly number[], axis: number, selectLast: boolean): Int32Array {
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
  return y;
}
