// Quantize-time arithmetic: turning real scales and ratios into the integer multipliers, shifts
// and rounded values stored in the model (docs/runtime-semantics.md §3). Floats live here, never
// in the integer runtime. Every function is deterministic IEEE-754 double arithmetic.
// Browser-safe: no node: imports.
import { ModelError } from '../graph.ts';
import { MAX_SHIFT } from '../int/arith.ts';
import { pow2 } from './det-math.ts';

/** Nearest integer, ties away from zero, computed exactly for any double (NaN → NaN). */
export function roundHalfAway(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = x < 0 ? -x : x;
  const f = Math.floor(a);
  const d = a - f; // exact for |x| < 2^52; 0 above (already an integer)
  const r = d > 0.5 || d === 0.5 ? f + 1 : f;
  return x < 0 ? -r : r;
}

/** roundHalfAway then saturate into [-qmax, qmax]; NaN → 0, ±∞ → ±qmax. */
export function quantizeValue(x: number, qmax: number): number {
  if (Number.isNaN(x)) return 0;
  const r = roundHalfAway(x);
  return r > qmax ? qmax : r < -qmax ? -qmax : r === 0 ? 0 : r;
}

/** floor(log2(a)) for a finite a > 0, by exact scaling. */
export function floorLog2(a: number): number {
  let e = 0;
  let v = a;
  while (v >= 2) {
    v *= 0.5;
    e++;
  }
  while (v < 1) {
    v *= 2;
    e--;
  }
  return e;
}

export const MULT_BITS = 15;
const MULT_LIMIT = 2 ** MULT_BITS; // |m| < 2^15
const EXACT = 2 ** 53;

/**
 * Integer multipliers m_i and one shared shift s with m_i / 2^s ≈ ratios[i]:
 * s is chosen so that the largest |m_i| lies in [2^14, 2^15), then lowered until
 * Σ maxIn_i·|m_i| + 2^(s-1) < 2^53 (exactness of the rescale, §2.2). s ∈ [0, 52]; a ratio too
 * large for s = 0 saturates at |m| = 2^15 - 1 (only degenerate scales get there).
 */
export function quantizeMultipliers(
  ratios: readonly number[],
  maxIns: readonly number[],
  where?: { node: string; op: string },
): { mults: number[]; shift: number } {
  for (const r of ratios)
    if (!Number.isFinite(r))
      throw new ModelError(`scale ratio ${r} is not finite (a scale is 0 or infinite)`, where);
  let amax = 0;
  for (const r of ratios) amax = Math.max(amax, Math.abs(r));
  if (amax === 0) return { mults: ratios.map(() => 0), shift: 0 };
  let s = MULT_BITS - 1 - floorLog2(amax);
  if (s > MAX_SHIFT) s = MAX_SHIFT;
  if (s < 0) s = 0;
  const make = (sh: number) => {
    const f = pow2(sh);
    return ratios.map((r) => {
      const m = roundHalfAway(r * f);
      return m >= MULT_LIMIT ? MULT_LIMIT - 1 : m <= -MULT_LIMIT ? -(MULT_LIMIT - 1) : m === 0 ? 0 : m;
    });
  };
  // amax·2^s lies in [2^14, 2^15); if it rounds up to 2^15, use one bit less.
  if (s > 0 && roundHalfAway(amax * pow2(s)) >= MULT_LIMIT) s--;
  let mults = make(s);
  const bound = (ms: number[], sh: number) => {
    let b = sh > 0 ? pow2(sh - 1) : 0;
    for (let i = 0; i < ms.length; i++) b += maxIns[i] * Math.abs(ms[i]);
    return b;
  };
  while (bound(mults, s) >= EXACT) {
    if (s === 0) throw new ModelError('requantization cannot be made exact below 2^53', where);
    s--;
    mults = make(s);
  }
  return { mults, shift: s };
}

/** One multiplier and shift (see quantizeMultipliers). */
export function quantizeMultiplier(
  ratio: number,
  maxIn: number,
  where?: { node: string; op: string },
): { mult: number; shift: number } {
  const { mults, shift } = quantizeMultipliers([ratio], [maxIn], where);
  return { mult: mults[0], shift };
}
