// Scalar integer primitives of the runtime's fixed-point semantics (docs/runtime-semantics.md §2).
// Every value here is a mathematical integer. JavaScript numbers are IEEE doubles, which hold
// every integer of magnitude below 2^53 exactly, and +, -, * on such integers are exact while the
// result stays below 2^53; division by a power of two and Math.floor are exact as well. The
// quantizer guarantees (and the spec states) bounds that keep every intermediate below 2^53, so
// these functions compute the exact integer results of the spec on every platform.
// Browser-safe: no node: imports.

/** POW2[k] = 2^k for k in [0, 62], exact. */
export const POW2: readonly number[] = Array.from({ length: 63 }, (_, k) => 2 ** k);

/** Largest shift a rescale may use (2^(s-1) must stay below 2^53 together with x*m). */
export const MAX_SHIFT = 52;

/** Bound on |x * m| + 2^(s-1) for every rescale (keeps doubles exact). */
export const EXACT_LIMIT = 2 ** 53;

/**
 * The runtime's one rounding rule: x·m / 2^s rounded half up (towards +∞),
 * floor((x·m + 2^(s-1)) / 2^s) for s ≥ 1 and x·m for s = 0. Requires |x·m| + 2^(s-1) < 2^53.
 */
export function rescale(x: number, m: number, s: number): number {
  return s === 0 ? x * m + 0 : Math.floor((x * m + POW2[s - 1]) / POW2[s]);
}

/** Saturates x into [-qmax, qmax] (the runtime's integer ranges are symmetric). */
export function clampSym(x: number, qmax: number): number {
  return x > qmax ? qmax : Math.max(x, -qmax);
}

/** clampSym(rescale(x, m, s), qmax): requantization of an accumulator into an output type. */
export function requant(x: number, m: number, s: number, qmax: number): number {
  const y = s === 0 ? x * m : Math.floor((x * m + POW2[s - 1]) / POW2[s]);
  return y > qmax ? qmax : Math.max(y, -qmax);
}

/** floor(a / b) for integers with |a| < 2^53 and b ≥ 1 (exact: see the spec, §2.3). */
export function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/** a / b rounded half up: floor((a + floor(b/2)) / b), b ≥ 1, |a| + b < 2^53. */
export function divRound(a: number, b: number): number {
  return Math.floor((a + Math.floor(b / 2)) / b);
}

/** Number of bits of a non-negative integer below 2^53 (0 for 0): floor(log2 x) + 1. */
export function bitLength(x: number): number {
  if (x < 4294967296) return 32 - Math.clz32(x);
  return 32 + bitLength(Math.floor(x / 4294967296));
}

/** floor(sqrt(n)) for an integer 0 ≤ n < 2^53, by integer Newton iteration. */
export function isqrt(n: number): number {
  if (n < 2) return n;
  // Start above the root: 2^ceil(bits/2) ≥ sqrt(n); Newton then decreases monotonically to floor.
  let x = POW2[(bitLength(n) + 1) >> 1];
  for (;;) {
    const y = Math.floor((x + Math.floor(n / x)) / 2);
    if (y >= x) return x;
    x = y;
  }
}
