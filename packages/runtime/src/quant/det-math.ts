// Transcendental functions for building the model's lookup tables at quantize time, written with
// IEEE-754 +, -, *, / and Math.floor/Math.sqrt only (all correctly rounded, so bit-identical on
// every platform), unlike Math.exp/log/tanh whose last bits may differ between engines. The same
// float graph and calibration therefore give the same tables, and the same model id, everywhere.
// Accuracy is ~1e-15 relative for exp/log and ~1e-13 absolute for erf: far below the int8 grid.
// Quantize-time only: the integer runtime never calls these.
// Browser-safe: no node: imports.

const LN2_HI = 0.6931471803691238; // high bits of ln 2 (exact product with small integers)
const LN2_LO = 1.9082149292705877e-10; // ln 2 - LN2_HI
const LN2 = Math.LN2;
const INV_LN2 = Math.LOG2E;
const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;

/** 2^k for an integer k, built by exact doublings/halvings (no Math.pow). */
export function pow2(k: number): number {
  let r = 1;
  if (k >= 0) for (let i = 0; i < k; i++) r *= 2;
  else for (let i = 0; i < -k; i++) r *= 0.5;
  return r;
}

export function detExp(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x > 709.78) return Number.POSITIVE_INFINITY;
  if (x < -745.2) return 0;
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = x - k * LN2_HI - k * LN2_LO; // |r| ≤ 0.35
  // Taylor series of e^r to degree 20 (Horner): truncation error < 1e-25.
  let p = 1;
  for (let n = 20; n >= 1; n--) p = 1 + (p * r) / n;
  // Scale by 2^k in two halves so that neither factor over- or underflows.
  const k1 = Math.floor(k / 2);
  return p * pow2(k1) * pow2(k - k1);
}

export function detLog(x: number): number {
  if (Number.isNaN(x) || x < 0) return Number.NaN;
  if (x === 0) return Number.NEGATIVE_INFINITY;
  if (x === Number.POSITIVE_INFINITY) return x;
  // x = m · 2^k with m in [1/√2, √2): exact scaling by powers of two.
  let m = x;
  let k = 0;
  while (m >= Math.SQRT2) {
    m *= 0.5;
    k++;
  }
  while (m < Math.SQRT1_2) {
    m *= 2;
    k--;
  }
  // ln m = 2·atanh(z), z = (m - 1)/(m + 1), |z| < 0.172: odd series to z^41.
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  let s = 0;
  for (let n = 41; n >= 1; n -= 2) s = 1 / n + z2 * s;
  return k * LN2_HI + (k * LN2_LO + 2 * z * s);
}

export function detTanh(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const a = x < 0 ? -x : x;
  if (a > 20) return x < 0 ? -1 : 1;
  const t = detExp(-2 * a);
  const y = (1 - t) / (1 + t);
  return x < 0 ? -y : y;
}

export function detSigmoid(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x >= 0) return 1 / (1 + detExp(-x));
  const e = detExp(x);
  return e / (1 + e);
}

/** erf: Maclaurin series for |x| < 2.5, continued fraction of erfc above, ±1 beyond 6. */
export function detErf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const a = x < 0 ? -x : x;
  let y: number;
  if (a < 2.5) {
    // erf(a) = 2/√π · Σ (-1)^n a^(2n+1) / (n! (2n+1))
    const a2 = a * a;
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= -a2 / n;
      sum += term / (2 * n + 1);
    }
    y = TWO_OVER_SQRT_PI * sum;
  } else if (a < 6) {
    // erfc(a) = e^(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated backwards.
    let f = a;
    for (let n = 120; n >= 1; n--) f = a + n / 2 / f;
    y = 1 - (detExp(-a * a) * INV_SQRT_PI) / f;
  } else y = 1;
  return x < 0 ? -y : y;
}

/** Gelu: x·Φ(x) exactly (approximate = 'none') or the tanh form (approximate = 'tanh'). */
export function detGelu(x: number, approximate: string): number {
  if (approximate === 'tanh') {
    const c = 0.7978845608028654; // sqrt(2/π)
    return 0.5 * x * (1 + detTanh(c * (x + 0.044715 * x * x * x)));
  }
  return 0.5 * x * (1 + detErf(x * Math.SQRT1_2));
}

/** x^p as ONNX Pow for a constant exponent: exact repeated products for integer p. */
export function detPow(x: number, p: number): number {
  if (Number.isNaN(x) || Number.isNaN(p)) return Number.NaN;
  if (Number.isInteger(p) && Math.abs(p) <= 64) {
    let r = 1;
    let b = x;
    let e = Math.abs(p);
    while (e > 0) {
      if (e & 1) r *= b;
      b *= b;
      e >>= 1;
    }
    return p < 0 ? 1 / r : r;
  }
  if (p === 0.5) return Math.sqrt(x); // correctly rounded by IEEE 754; NaN for x < 0
  if (x < 0) return Number.NaN;
  if (x === 0) return p > 0 ? 0 : Number.POSITIVE_INFINITY;
  return detExp(p * detLog(x));
}

export { LN2 };
