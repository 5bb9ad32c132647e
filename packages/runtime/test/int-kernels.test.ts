// Integer kernels against hand-computed results and against straightforward re-implementations
// of the formulas in docs/runtime-semantics.md (plain nested loops, no shared code).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isqrt } from '../src/int/arith.ts';
import {
  addScaled,
  argMax,
  avgPool,
  broadcastPlan,
  clip,
  concat,
  conv2d,
  divScaled,
  gather,
  layerNorm,
  linear,
  logSoftmax,
  logSumQ16,
  lookup,
  matmul,
  maxPool,
  mulScaled,
  reduceMean,
  relu,
  softmax,
  transpose,
} from '../src/int/kernels.ts';
import { rng } from './quant-helpers.ts';

/** floor((x·m + 2^(s-1)) / 2^s), clamped to ±127: written independently of arith.ts. */
function rq(x: number, m: number, s: number): number {
  const y = s === 0 ? x * m : Math.floor((x * m + 2 ** (s - 1)) / 2 ** s);
  return Math.max(-127, Math.min(127, y));
}

function randInt8(n: number, r: () => number, lo = -127, hi = 127): Int8Array {
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(r() * (hi - lo + 1));
  return a;
}

function randInts(n: number, r: () => number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(r() * (hi - lo + 1));
  return a;
}

describe('linear', () => {
  it('hand-computed 1x3 by 2x3', () => {
    // acc0 = 10 + (1·2 + 2·-3 + 3·4) = 18 → 18·3/4 = 13.5 → 14 (half up)
    // acc1 = -5 + (1·-1 + 2·0 + 3·5) = 9 → 9·1/1 = 9
    const out = linear(
      Int8Array.from([1, 2, 3]),
      1,
      3,
      Int8Array.from([2, -3, 4, -1, 0, 5]),
      2,
      Int32Array.from([10, -5]),
      Int32Array.from([3, 1]),
      Int32Array.from([2, 0]),
    );
    assert.deepEqual([...out], [14, 9]);
  });
  it('saturates the worst case at ±127 and stays exact at |acc| = 2^31 - 1', () => {
    const K = 133143; // 133143 · 127 · 127 = 2147449, below 2^31 - 1
    const A = new Int8Array(K).fill(127);
    const W = new Int8Array(K).fill(-127);
    const bias = Int32Array.from([-(2147483647 - K * 16129)]);
    const out = linear(A, 1, K, W, 1, bias, Int32Array.from([16384]), Int32Array.from([45]));
    // acc = -(2^31 - 1) → ·2^14 / 2^45 = -(2^31-1)/2^31 ≈ -1.0 → -1
    assert.deepEqual([...out], [-1]);
    const sat = linear(A, 1, K, W, 1, new Int32Array(1), Int32Array.from([1]), Int32Array.from([0]));
    assert.deepEqual([...sat], [-127]);
  });
  it('matches a naive loop on random data (all N remainders)', () => {
    const r = rng(11);
    for (const [rows, K, N] of [
      [1, 1, 1],
      [3, 7, 5],
      [2, 784, 13],
      [5, 33, 8],
    ]) {
      const A = randInt8(rows * K, r);
      const W = randInt8(N * K, r);
      const bias = randInts(N, r, -100000, 100000);
      const mult = randInts(N, r, 16384, 32767);
      const shift = randInts(N, r, 10, 30);
      const out = linear(A, rows, K, W, N, bias, mult, shift);
      for (let i = 0; i < rows; i++)
        for (let n = 0; n < N; n++) {
          let acc = bias[n];
          for (let k = 0; k < K; k++) acc += A[i * K + k] * W[n * K + k];
          assert.equal(out[i * N + n], rq(acc, mult[n], shift[n]));
        }
    }
  });
});

describe('conv2d', () => {
  it('hand-computed 3x3 input, 2x2 kernel, pad 1 on the left/top', () => {
    // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,-1]], pads top=1 left=1 bottom=0 right=0, stride 1
    // out[i][j] = x[i-1][j-1] - x[i][j] (0 outside)
    const out = conv2d(
      Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      [1, 1, 3, 3],
      Int8Array.from([1, 0, 0, -1]),
      1,
      Int32Array.from([0]),
      Int32Array.from([1]),
      Int32Array.from([0]),
      { kernel: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0], dilations: [1, 1], group: 1 },
      3,
      3,
    );
    assert.deepEqual([...out], [-1, -2, -3, -4, 1 - 5, 2 - 6, -7, 4 - 8, 5 - 9]);
  });
  it('matches a naive loop with strides, pads, dilations and groups', () => {
    const r = rng(5);
    const cases = [
      { B: 2, C: 4, H: 7, W: 6, O: 6, kh: 3, kw: 2, s: [2, 1], p: [1, 0, 2, 1], d: [1, 2], g: 2 },
      { B: 1, C: 3, H: 5, W: 5, O: 3, kh: 3, kw: 3, s: [1, 1], p: [1, 1, 1, 1], d: [1, 1], g: 3 },
      { B: 3, C: 1, H: 8, W: 8, O: 5, kh: 3, kw: 3, s: [1, 1], p: [1, 1, 1, 1], d: [1, 1], g: 1 },
    ];
    for (const c of cases) {
      const Cg = c.C / c.g;
      const Og = c.O / c.g;
      const X = randInt8(c.B * c.C * c.H * c.W, r);
      const W = randInt8(c.O * Cg * c.kh * c.kw, r);
      const bias = randInts(c.O, r, -3000, 3000);
      const mult = randInts(c.O, r, 16384, 32767);
      const shift = randInts(c.O, r, 14, 20);
      const OH = Math.floor((c.H + c.p[0] + c.p[2] - c.d[0] * (c.kh - 1) - 1) / c.s[0]) + 1;
      const OW = Math.floor((c.W + c.p[1] + c.p[3] - c.d[1] * (c.kw - 1) - 1) / c.s[1]) + 1;
      const out = conv2d(
        X,
        [c.B, c.C, c.H, c.W],
        W,
        c.O,
        bias,
        mult,
        shift,
        {
          kernel: [c.kh, c.kw],
          strides: c.s as [number, number],
          pads: c.p as [number, number, number, number],
          dilations: c.d as [number, number],
          group: c.g,
        },
        OH,
        OW,
      );
      for (let b = 0; b < c.B; b++)
        for (let o = 0; o < c.O; o++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              const g = Math.floor(o / Og);
              let acc = bias[o];
              for (let ci = 0; ci < Cg; ci++)
                for (let i = 0; i < c.kh; i++)
                  for (let j = 0; j < c.kw; j++) {
                    const ih = oh * c.s[0] - c.p[0] + i * c.d[0];
                    const iw = ow * c.s[1] - c.p[1] + j * c.d[1];
                    if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                    acc +=
                      X[((b * c.C + g * Cg + ci) * c.H + ih) * c.W + iw] *
                      W[((o * Cg + ci) * c.kh + i) * c.kw + j];
                  }
              assert.equal(out[((b * c.O + o) * OH + oh) * OW + ow], rq(acc, mult[o], shift[o]));
            }
    }
  });
});

describe('matmul of two activations', () => {
  it('broadcasts batch dims and matches a naive loop', () => {
    const r = rng(8);
    const A = randInt8(2 * 3 * 4 * 5, r);
    const B = randInt8(1 * 5 * 6, r);
    const out = matmul(A, [2, 3, 4, 5], B, [1, 5, 6], [2, 3], 20000, 20);
    for (let t = 0; t < 6; t++)
      for (let m = 0; m < 4; m++)
        for (let n = 0; n < 6; n++) {
          let acc = 0;
          for (let k = 0; k < 5; k++) acc += A[t * 20 + m * 5 + k] * B[k * 6 + n];
          assert.equal(out[t * 24 + m * 6 + n], rq(acc, 20000, 20));
        }
  });
});

describe('elementwise', () => {
  it('add with broadcasting: floor((a·ma + b·mb + 2^(s-1)) / 2^s)', () => {
    const A = Int8Array.from([10, -20, 30, 127, -127, 5]); // [2, 3]
    const B = Int16Array.from([1000, -1000, 3]); // [3]
    const plan = broadcastPlan([2, 3], [3], [2, 3]);
    const out = addScaled(A, B, plan, 3, 1, 2);
    const exp = [0, 1, 2, 3, 4, 5].map((i) => rq(A[i] * 3 + B[i % 3] * 1, 1, 2));
    assert.deepEqual([...out], exp);
    // Hand check of element 0: (30 + 1000 + 2) / 4 = 258 → saturates to 127; element 2: (90 + 3 + 2)/4 = 23.75 → 23
    assert.equal(out[0], 127);
    assert.equal(out[2], 23);
  });
  it('sub is add with a negative multiplier; ties round up', () => {
    const plan = broadcastPlan([4], [1], [4]);
    // (a - 1) / 2 for a = 2, 0, -2, 4: 0.5 → 1, -0.5 → 0, -1.5 → -1, 1.5 → 2
    const out = addScaled(Int8Array.from([2, 0, -2, 4]), Int8Array.from([1]), plan, 1, -1, 1);
    assert.deepEqual([...out], [1, 0, -1, 2]);
  });
  it('general broadcasting matches an index-by-index reference', () => {
    const r = rng(2);
    const shapes: [number[], number[]][] = [
      [
        [2, 1, 4],
        [3, 1],
      ],
      [
        [1, 3, 1, 5],
        [2, 1, 4, 1],
      ],
      [[], [3]],
      [
        [4, 1],
        [1, 4],
      ],
    ];
    for (const [as, bs] of shapes) {
      const r0 = Math.max(as.length, bs.length);
      const pa = [...Array(r0 - as.length).fill(1), ...as];
      const pb = [...Array(r0 - bs.length).fill(1), ...bs];
      const os = pa.map((d, i) => Math.max(d, pb[i]));
      const n = os.reduce((x, y) => x * y, 1);
      const A = randInt8(
        as.reduce((x, y) => x * y, 1),
        r,
      );
      const B = randInt8(
        bs.reduce((x, y) => x * y, 1),
        r,
      );
      const plan = broadcastPlan(as, bs, os);
      const add = addScaled(A, B, plan, 12000, -7000, 14);
      const mul = mulScaled(A, B, plan, 30000, 21);
      const recip = new Int32Array(256);
      for (let i = 0; i < 256; i++) recip[i] = i === 128 ? 0 : Math.round(32768 / (i - 128));
      const div = divScaled(A, B, plan, recip, 25000, 22);
      for (let o = 0; o < n; o++) {
        // Decode o into an index, then into offsets of A and B.
        let rem = o;
        let ao = 0;
        let bo = 0;
        let sa = 1;
        let sb = 1;
        for (let d = r0 - 1; d >= 0; d--) {
          const i = rem % os[d];
          rem = Math.floor(rem / os[d]);
          if (pa[d] !== 1) ao += i * sa;
          if (pb[d] !== 1) bo += i * sb;
          sa *= pa[d];
          sb *= pb[d];
        }
        assert.equal(add[o], rq(A[ao] * 12000 - B[bo] * 7000, 1, 14));
        assert.equal(mul[o], rq(A[ao] * B[bo], 30000, 21));
        assert.equal(div[o], rq(A[ao] * recip[B[bo] + 128], 25000, 22));
      }
    }
  });
});

describe('unary', () => {
  it('lookup indexes by value + 128', () => {
    const table = new Int8Array(256);
    for (let i = 0; i < 256; i++) table[i] = (i - 128) >> 1;
    assert.deepEqual([...lookup(Int8Array.from([-127, -1, 0, 1, 127]), table)], [-64, -1, 0, 0, 63]);
  });
  it('relu and clip', () => {
    assert.deepEqual([...relu(Int8Array.from([-127, -1, 0, 1, 127]))], [0, 0, 0, 1, 127]);
    assert.deepEqual([...clip(Int8Array.from([-127, -1, 0, 1, 127]), -1, 50)], [-1, -1, 0, 1, 50]);
  });
});

describe('pooling and reductions', () => {
  const X = Int8Array.from([1, -2, 3, 4, -5, 6, 7, 8, -9, 10, 11, 12, 13, -14, 15, 16]); // [1,1,4,4]
  it('maxpool 2x2 stride 2, and 3x3 stride 2 with pad 1 (padding never wins)', () => {
    const a = {
      kernel: [2, 2] as [number, number],
      strides: [2, 2] as [number, number],
      pads: [0, 0, 0, 0] as [number, number, number, number],
      dilations: [1, 1] as [number, number],
    };
    assert.deepEqual([...maxPool(X, [1, 1, 4, 4], a, 2, 2)], [6, 8, 13, 16]);
    const neg = new Int8Array(16).fill(-100);
    const b = {
      ...a,
      kernel: [3, 3] as [number, number],
      pads: [1, 1, 1, 1] as [number, number, number, number],
    };
    assert.deepEqual([...maxPool(neg, [1, 1, 4, 4], b, 2, 2)], [-100, -100, -100, -100]);
  });
  it('avgpool divides by the window count, with and without padding counted', () => {
    const a = {
      kernel: [3, 3] as [number, number],
      strides: [2, 2] as [number, number],
      pads: [1, 1, 1, 1] as [number, number, number, number],
      dilations: [1, 1] as [number, number],
    };
    const mult = new Int32Array(10);
    const shift = new Int32Array(10);
    for (let c = 1; c <= 9; c++) {
      // exact 1/c·2^20 rounded: a stand-in for the quantizer's multipliers
      mult[c] = Math.round(2 ** 20 / c / 64);
      shift[c] = 14;
    }
    const excl = avgPool(X, [1, 1, 4, 4], a, false, mult, shift, 2, 2);
    const incl = avgPool(X, [1, 1, 4, 4], a, true, mult, shift, 2, 2);
    // Window (0,0) covers x[0..1][0..1]: 1 - 2 - 5 + 6 = 0; count 4 (excl) or 9 (incl).
    // Window (0,1) covers rows 0..1, cols 1..3: -2 + 3 + 4 + 6 + 7 + 8 = 26; count 6 or 9.
    assert.equal(excl[0], rq(0, mult[4], 14));
    assert.equal(excl[1], rq(26, mult[6], 14));
    assert.equal(incl[1], rq(26, mult[9], 14));
    // Window (1,1) covers rows 1..3, cols 1..3: all 9 inside.
    const s11 = 6 + 7 + 8 + 10 + 11 + 12 - 14 + 15 + 16;
    assert.equal(excl[3], rq(s11, mult[9], 14));
    assert.equal(incl[3], excl[3]);
  });
  it('reduceMean over trailing and over middle axes', () => {
    const r = rng(4);
    const A = randInt8(2 * 3 * 4, r);
    const t = reduceMean(A, [2, 3, 4], [2], 21845, 16); // ≈ 1/3 · 1/... any multiplier
    const m = reduceMean(A, [2, 3, 4], [1], 21845, 16);
    for (let i = 0; i < 6; i++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += A[i * 4 + k];
      assert.equal(t[i], rq(s, 21845, 16));
    }
    for (let a = 0; a < 2; a++)
      for (let c = 0; c < 4; c++) {
        let s = 0;
        for (let b = 0; b < 3; b++) s += A[a * 12 + b * 4 + c];
        assert.equal(m[a * 4 + c], rq(s, 21845, 16));
      }
  });
});

describe('softmax family', () => {
  it('softmax: hand-computed with a 3-entry table', () => {
    const exp = new Int32Array(256);
    exp[0] = 32768;
    exp[1] = 16384;
    exp[2] = 8192;
    // x = [2, 1, 0] → e = [32768, 16384, 8192], sum = 57344, P = 127:
    // 32768·127/57344 = 72.57 → 73 (floor((4161536 + 28672) / 57344) = 73); 16384·127 → 36.29 → 36; 8192·127 → 18.14 → 18
    assert.deepEqual([...softmax(Int8Array.from([2, 1, 0]), [1, 3], 1, exp, 127)], [73, 36, 18]);
    // Along axis 0 of a [3, 1] tensor: same numbers.
    assert.deepEqual([...softmax(Int8Array.from([2, 1, 0]), [3, 1], 0, exp, 127)], [73, 36, 18]);
  });
  it('logSumQ16 picks the mantissa table and the exponent', () => {
    const log = new Int32Array(256);
    for (let i = 0; i < 256; i++) log[i] = i;
    // sum = 2^15 → b = 15, index 2^15 / 2^7 - 256 = 0
    assert.equal(logSumQ16(32768, log), 0);
    // sum = 3·2^15 → b = 16, index floor(98304 / 2^8) - 256 = 128, plus 1·45426
    assert.equal(logSumQ16(98304, log), 45426 + 128);
  });
  it('logSoftmax: d·md - lse·ml, rescaled', () => {
    const exp = new Int32Array(256);
    for (let j = 0; j < 256; j++) exp[j] = Math.round(32768 * Math.exp(-j * 0.1));
    const log = new Int32Array(256);
    for (let i = 0; i < 256; i++) log[i] = Math.round(65536 * Math.log(1 + (i + 0.5) / 256));
    const X = Int8Array.from([10, 0, -10, 30]);
    const out = logSoftmax(X, [1, 4], 1, exp, log, 16384, 3, 14);
    let sum = 0;
    for (const v of X) sum += exp[30 - v];
    const lse = logSumQ16(sum, log);
    assert.deepEqual(
      [...out],
      [...X].map((v) => rq((v - 30) * 16384 - lse * 3, 1, 14)),
    );
  });
  it('layerNorm follows the spec formula step by step', () => {
    const r = rng(9);
    const n = 16;
    const X = randInt8(3 * n, r, -40, 40);
    X.fill(7, 2 * n, 3 * n); // a constant row: variance 0, only eps
    const gamma = randInts(n, r, -20000, 20000);
    const beta = randInts(n, r, -(2 ** 20), 2 ** 20);
    const eps = 1000;
    const g = 3;
    const out = layerNorm(X, n, gamma, beta, eps, g);
    for (let row = 0; row < 3; row++) {
      const q = [...X.subarray(row * n, (row + 1) * n)];
      const sum = q.reduce((a, b) => a + b, 0);
      const c = q.map((v) => n * v - sum);
      const V = c.reduce((a, b) => a + b * b, 0) + eps;
      const L = V.toString(2).length;
      const e = Math.floor((L - 29) / 2);
      const m = e >= 0 ? Math.floor(V / 4 ** e) : V * 4 ** -e;
      assert.ok(m >= 2 ** 28 && m < 2 ** 30);
      const rt = isqrt(m);
      const inv = Math.floor((2 ** 31 + rt) / (2 * rt));
      const k = 30 + e + g - 15;
      for (let i = 0; i < n; i++) {
        const u = Math.floor((c[i] * inv * gamma[i] + 2 ** (k - 1)) / 2 ** k);
        assert.equal(out[row * n + i], rq(u + beta[i], 1, 15), `row ${row} i ${i}`);
      }
    }
  });
});

describe('data movement', () => {
  it('transpose', () => {
    const X = Int8Array.from([0, 1, 2, 3, 4, 5]); // [2, 3]
    assert.deepEqual([...transpose(X, [2, 3], [1, 0])], [0, 3, 1, 4, 2, 5]);
    const Y = Int8Array.from(Array.from({ length: 24 }, (_, i) => i)); // [2,3,4]
    const t = transpose(Y, [2, 3, 4], [2, 0, 1]); // out[k][i][j] = Y[i][j][k]
    for (let k = 0; k < 4; k++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++) assert.equal(t[k * 6 + i * 3 + j], i * 12 + j * 4 + k);
  });
  it('concat copies or requantizes each input', () => {
    const a = Int8Array.from([1, 2, 3, 4]); // [2, 2]
    const b = Int8Array.from([10, 20]); // [2, 1]
    const out = concat(
      [a, b],
      [
        [2, 2],
        [2, 1],
      ],
      1,
      [2, 3],
      new Int8Array(6),
      Int32Array.from([1, 1]),
      Int32Array.from([0, 1]),
    );
    // b halved with half-up rounding: 10 → 5, 20 → 10
    assert.deepEqual([...out], [1, 2, 5, 3, 4, 10]);
  });
  it('gather with negative indices, and the range error', () => {
    const X = Int8Array.from([0, 1, 2, 3, 4, 5]); // [3, 2]
    const where = { node: 'g', op: 'Gather' };
    assert.deepEqual([...gather(X, [3, 2], Int32Array.from([2, -3, 1]), 0, where)], [4, 5, 0, 1, 2, 3]);
    assert.deepEqual([...gather(X, [3, 2], Int32Array.from([1]), 1, where)], [1, 3, 5]);
    assert.throws(() => gather(X, [3, 2], Int32Array.from([3]), 0, where), /out of range/);
  });
  it('argMax takes the first maximum (or the last)', () => {
    const X = Int8Array.from([3, 7, 7, -1, 5, 5]); // [2, 3]
    assert.deepEqual([...argMax(X, [2, 3], 1, false)], [1, 1]);
    assert.deepEqual([...argMax(X, [2, 3], 1, true)], [2, 2]);
    assert.deepEqual([...argMax(X, [2, 3], 0, false)], [0, 0, 0]);
  });
});
