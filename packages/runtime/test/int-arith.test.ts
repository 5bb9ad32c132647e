// The scalar integer primitives: the rounding rule, saturation, bit lengths and integer roots,
// checked against hand-computed values and against BigInt arithmetic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bitLength, clampSym, divRound, isqrt, POW2, requant, rescale } from '../src/int/arith.ts';
import { rng } from './quant-helpers.ts';

/** BigInt reference of rescale: floor((x·m + 2^(s-1)) / 2^s). */
function rescaleBig(x: number, m: number, s: number): number {
  const p = BigInt(x) * BigInt(m);
  if (s === 0) return Number(p);
  const num = p + (1n << BigInt(s - 1));
  const d = 1n << BigInt(s);
  // BigInt division truncates; make it floor.
  let q = num / d;
  if (num % d !== 0n && num < 0n) q -= 1n;
  return Number(q);
}

describe('rescale: round half up', () => {
  it('rounds ties towards +infinity', () => {
    // x / 2 for x = 1, -1, 3, -3, 5, -5: 0.5 → 1, -0.5 → 0, 1.5 → 2, -1.5 → -1, 2.5 → 3, -2.5 → -2
    assert.deepEqual(
      [1, -1, 3, -3, 5, -5].map((x) => rescale(x, 1, 1)),
      [1, 0, 2, -1, 3, -2],
    );
    // Non-ties round to nearest: 7/4 = 1.75 → 2, -7/4 → -2, 5/4 → 1, -5/4 → -1
    assert.deepEqual(
      [7, -7, 5, -5].map((x) => rescale(x, 1, 2)),
      [2, -2, 1, -1],
    );
  });
  it('s = 0 multiplies exactly', () => {
    assert.equal(rescale(-12345, 321, 0), -12345 * 321);
  });
  it('matches BigInt on random accumulators up to 2^37 and multipliers below 2^15', () => {
    const r = rng(7);
    for (let i = 0; i < 20000; i++) {
      const x = Math.floor((r() * 2 - 1) * 2 ** (1 + Math.floor(r() * 37)));
      const m = Math.floor((r() * 2 - 1) * 32767);
      const s = Math.floor(r() * 53);
      if (Math.abs(x * m) + (s > 0 ? 2 ** (s - 1) : 0) >= 2 ** 53) continue;
      assert.equal(rescale(x, m, s), rescaleBig(x, m, s), `x=${x} m=${m} s=${s}`);
    }
  });
  it('handles the extremes of the int32 accumulator exactly', () => {
    for (const x of [2147483647, -2147483647, -2147483648])
      for (const m of [32767, -32767, 16384])
        for (const s of [1, 15, 30, 45, 52]) assert.equal(rescale(x, m, s), rescaleBig(x, m, s));
  });
});

describe('saturation', () => {
  it('clamps into the symmetric int8 range, never -128', () => {
    assert.equal(clampSym(128, 127), 127);
    assert.equal(clampSym(-128, 127), -127);
    assert.equal(clampSym(-127, 127), -127);
    assert.equal(clampSym(127, 127), 127);
    assert.equal(clampSym(0, 127), 0);
    // 254.5 / 2 = 127.25 → 127; 255 / 2 = 127.5 → 128 → saturates to 127
    assert.equal(requant(254, 1, 1, 127), 127);
    assert.equal(requant(255, 1, 1, 127), 127);
    // -255 / 2 = -127.5 → -127 (half up), -256 / 2 = -128 → saturates to -127
    assert.equal(requant(-255, 1, 1, 127), -127);
    assert.equal(requant(-256, 1, 1, 127), -127);
    assert.equal(requant(-253, 1, 1, 127), -126);
  });
});

describe('integer helpers', () => {
  it('bitLength', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 255, 256].map(bitLength), [0, 1, 2, 2, 3, 8, 9]);
    for (let k = 0; k < 53; k++) {
      assert.equal(bitLength(POW2[k]), k + 1);
      if (k > 0) assert.equal(bitLength(POW2[k] - 1), k);
    }
  });
  it('isqrt is the floor square root', () => {
    for (let n = 0; n < 5000; n++) {
      const r = isqrt(n);
      assert.ok(r * r <= n && (r + 1) * (r + 1) > n, `n=${n}`);
    }
    const g = rng(3);
    for (let i = 0; i < 5000; i++) {
      const n = Math.floor(g() * 2 ** (1 + Math.floor(g() * 52)));
      const r = BigInt(isqrt(n));
      const nb = BigInt(n);
      assert.ok(r * r <= nb && (r + 1n) * (r + 1n) > nb, `n=${n}`);
    }
    const big = 2 ** 53 - 1;
    const r = BigInt(isqrt(big));
    assert.ok(r * r <= BigInt(big) && (r + 1n) * (r + 1n) > BigInt(big));
  });
  it('divRound rounds half up', () => {
    assert.deepEqual(
      [
        [5, 2],
        [-5, 2],
        [7, 3],
        [8, 3],
        [-7, 3],
      ].map(([a, b]) => divRound(a, b)),
      [3, -2, 2, 3, -2],
    );
  });
});
