// Groth16 verification over BN254 with a per-verification-key cache, written on top of the BN254
// wasm that snarkjs itself uses (ffjavascript/wasmcurves, reached through snarkjs.curves).
//
// Why hand-written: snarkjs 0.7.6 has no verify with a prepared key. Each groth16.verify re-parses
// the key, prepares all four G2 points and runs four Miller loops, and it posts the public-input
// multi-exponentiation to the worker threads as one task per bit window (255 round trips for 12
// signals): about 20 of its ~25 ms. Here the key's parsed points, the prepared γ and δ and the
// Miller loop of (α, β) are cached per key (and per curve instance), and everything else runs
// synchronously on the calling thread's wasm instance: 3 Miller loops, 1 final exponentiation.
//
// Same accept/reject as snarkjs.groth16.verify, bit for bit: the same wasm functions are called on
// the same inputs in the same order (public signals < r, the multiexp's window sizes and chunk
// order, G1/G2 isValid of A, B and C, the product of the four Miller loops in snarkjs' order, the
// final exponentiation compared to 1). Inputs outside the canonical shape (non-decimal strings,
// points not [x, y, z], a key of another curve, more signals than IC points, ...) are handed to
// snarkjs itself, so its quirks (and errors) are kept there. Pure and deterministic: no randomness,
// no clock. Browser-safe: no node: imports.
import * as snarkjs from 'snarkjs';

/** The parts of ffjavascript's wasm curve used here (snarkjs ships no types). */
type Group = {
  F: { n8: number };
  zero: Uint8Array;
  fromObject(o: unknown): Uint8Array;
  isValid(p: Uint8Array): boolean;
  neg(p: Uint8Array): Uint8Array;
  toJacobian(p: Uint8Array): Uint8Array;
};
type Exports = Record<string, (...args: number[]) => number>;
type Curve = {
  name: string;
  r: bigint;
  G1: Group;
  G2: Group;
  Gt: { n8: number; one: Uint8Array };
  prePSize: number;
  preQSize: number;
  prepareG1(p: Uint8Array): Uint8Array;
  prepareG2(q: Uint8Array): Uint8Array;
  millerLoop(preP: Uint8Array, preQ: Uint8Array): Uint8Array;
  tm: {
    instance: { exports: Exports };
    startSyncOp(): void;
    endSyncOp(): void;
    alloc(n: number): number;
    allocBuff(b: Uint8Array): number;
    getBuff(p: number, n: number): Uint8Array;
    setBuff(p: number, b: Uint8Array): void;
  };
};

type Proof = { pi_a: unknown; pi_b: unknown; pi_c: unknown };

/** A verification key, parsed and prepared. */
type Prepared = {
  /** IC[0] as G1.fromObject gives it. */
  ic0: Uint8Array;
  /** IC[1..] as affine points, 64 bytes each. */
  bases: Uint8Array;
  nBases: number;
  /** prepareG2 of γ and δ. */
  gammaPre: Uint8Array;
  deltaPre: Uint8Array;
  /** Miller loop of (α, β), the fourth factor of snarkjs' pairing product. */
  alphaBetaMl: Uint8Array;
};

const DEC = /^[0-9]+$/;
const isDec = (v: unknown): v is string => typeof v === 'string' && DEC.test(v);
const g1Ok = (p: unknown): p is string[] => Array.isArray(p) && p.length === 3 && p.every(isDec);
const g2Ok = (p: unknown): p is string[][] =>
  Array.isArray(p) && p.length === 3 && p.every((c) => Array.isArray(c) && c.length === 2 && c.every(isDec));
const big1 = (p: string[]) => p.map((x) => BigInt(x));
const big2 = (p: string[][]) => p.map((c) => c.map((x) => BigInt(x)));

/** snarkjs' getCurveFromName normalization, restricted to BN254's names. */
function isBn254Name(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  const m = name.toUpperCase().match(/[A-Za-z0-9]+/g);
  return m !== null && ['BN128', 'BN254', 'ALTBN128'].includes(m.join(''));
}

// ffjavascript's multiexp window size by log2(number of points) (engine_multiexp.js).
const P_T_SIZES = [
  1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13, 13, 14, 15, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17,
  17, 17,
];
/** ffjavascript's utils.log2 (index of the highest set bit) for 0 < v < 2^31. */
const log2 = (v: number): number => 31 - Math.clz32(v);
// Below this many points ffjavascript's multiexp is a single chunk (MIN_CHUNK_SIZE).
const MAX_FAST_SIGNALS = 1024;

const MAX_KEYS = 256;
/** Prepared keys (null: not canonical, snarkjs handles it) per curve instance, by key text. */
const caches = new WeakMap<Curve, Map<string, Prepared | null>>();

function prepare(curve: Curve, vk: Record<string, unknown>): Prepared | null {
  const { IC, vk_alpha_1: alpha, vk_beta_2: beta, vk_gamma_2: gamma, vk_delta_2: delta } = vk;
  if (!Array.isArray(IC) || IC.length === 0 || !IC.every(g1Ok)) return null;
  if (!g1Ok(alpha) || !g2Ok(beta) || !g2Ok(gamma) || !g2Ok(delta)) return null;
  const { G1, G2 } = curve;
  const n8g1 = G1.F.n8 * 2;
  const ic0 = G1.fromObject(big1(IC[0]));
  const nBases = IC.length - 1;
  const bases = new Uint8Array(n8g1 * nBases);
  for (let i = 0; i < nBases; i++) {
    const p = G1.fromObject(big1(IC[i + 1]));
    // A projective IC point (z not 0 or 1) would overlap its neighbour in snarkjs' affine buffer.
    if (p.length !== n8g1) return null;
    bases.set(p, n8g1 * i);
  }
  const g2pre = (p: string[][]) => curve.prepareG2(G2.toJacobian(G2.fromObject(big2(p))));
  const alphaPre = curve.prepareG1(G1.toJacobian(G1.fromObject(big1(alpha))));
  return {
    ic0,
    bases,
    nBases,
    gammaPre: g2pre(gamma),
    deltaPre: g2pre(delta),
    alphaBetaMl: curve.millerLoop(alphaPre, g2pre(beta)),
  };
}

function prepared(curve: Curve, vk: Record<string, unknown>): Prepared | null {
  let cache = caches.get(curve);
  if (!cache) {
    cache = new Map();
    caches.set(curve, cache);
  }
  // Only the fields snarkjs reads (it ignores nPublic); a non-JSON key goes to snarkjs.
  let key: string;
  try {
    key = JSON.stringify([vk.curve, vk.vk_alpha_1, vk.vk_beta_2, vk.vk_gamma_2, vk.vk_delta_2, vk.IC]);
  } catch {
    return null;
  }
  let p = cache.get(key);
  if (p === undefined) {
    try {
      p = prepare(curve, vk);
    } catch {
      p = null; // snarkjs meets (or skips) whatever threw here, as it does without the cache
    }
    if (cache.size >= MAX_KEYS) cache.delete(cache.keys().next().value as string);
    cache.set(key, p);
  }
  return p;
}

/** Σ IC[i+1]·s_i + IC[0], exactly as snarkjs computes it (ffjavascript multiExpAffine, one chunk). */
function publicCommitment(curve: Curve, pk: Prepared, signals: bigint[]): Uint8Array {
  const { G1, tm } = curve;
  const x = tm.instance.exports;
  const n8 = G1.F.n8;
  const n = signals.length;
  let sum: Uint8Array;
  if (n === 0) {
    sum = G1.zero;
  } else {
    const scalars = new Uint8Array(32 * n);
    signals.forEach((s, i) => {
      for (let b = 0; b < 32; b++, s >>= 8n) scalars[32 * i + b] = Number(s & 0xffn);
    });
    const window = P_T_SIZES[log2(n)];
    const nWindows = Math.floor((32 * 8 - 1) / window) + 1;
    tm.startSyncOp();
    try {
      const pBases = tm.allocBuff(pk.bases.subarray(0, 2 * n8 * n));
      const pScalars = tm.allocBuff(scalars);
      const pWin = tm.alloc(n8 * 3);
      // Results never alias inputs (ffjavascript's G1.double/G1.add don't either): ping-pong.
      let pRes = tm.allocBuff(G1.zero);
      let pTmp = tm.alloc(n8 * 3);
      const step = (op: (r: number, t: number) => void) => {
        op(pRes, pTmp);
        [pRes, pTmp] = [pTmp, pRes];
      };
      // One g1m_multiexpAffine_chunk per window, then Horner from the top window down, as
      // engine_multiexp.js combines the workers' results.
      const wins: Uint8Array[] = [];
      for (let i = 0; i < nWindows; i++) {
        const bits = Math.min(32 * 8 - i * window, window);
        x.g1m_multiexpAffine_chunk(pBases, pScalars, 32, n, i * window, bits, pWin);
        wins.push(tm.getBuff(pWin, n8 * 3));
      }
      for (let i = nWindows - 1; i >= 0; i--) {
        if (!x.g1m_isZero(pRes)) for (let j = 0; j < window; j++) step((r, t) => x.g1m_double(r, t));
        tm.setBuff(pWin, wins[i]);
        step((r, t) => x.g1m_add(r, pWin, t));
      }
      // _multiExp then adds its single chunk's result to zero.
      tm.setBuff(pWin, G1.zero);
      step((r, t) => x.g1m_add(pWin, r, t));
      sum = tm.getBuff(pRes, n8 * 3);
    } finally {
      tm.endSyncOp();
    }
  }
  return add(curve, sum, pk.ic0);
}

/** G1.add of a Jacobian point and a point of either form (addMixed for affine). */
function add(curve: Curve, a: Uint8Array, b: Uint8Array): Uint8Array {
  const { G1, tm } = curve;
  const n8 = G1.F.n8;
  tm.startSyncOp();
  try {
    const pA = tm.allocBuff(a);
    const pB = tm.allocBuff(b);
    const pR = tm.alloc(n8 * 3);
    tm.instance.exports[b.length === n8 * 2 ? 'g1m_addMixed' : 'g1m_add'](pA, pB, pR);
    return tm.getBuff(pR, n8 * 3);
  } finally {
    tm.endSyncOp();
  }
}

/**
 * snarkjs' pairingEq(−A, B, cpub, γ, C, δ, α, β): the product of the four Miller loops, in that
 * order, final exponentiation, compared to 1; γ, δ and (α, β) come prepared from the cache.
 */
function pairingCheck(
  curve: Curve,
  pk: Prepared,
  negA: Uint8Array,
  b: Uint8Array,
  cpub: Uint8Array,
  c: Uint8Array,
): boolean {
  const { tm, name } = curve;
  const x = tm.instance.exports;
  const prepareG1 = x[`${name}_prepareG1`];
  const millerLoop = x[`${name}_millerLoop`];
  tm.startSyncOp();
  try {
    const pPreP = tm.alloc(curve.prePSize);
    const pPreQ = tm.alloc(curve.preQSize);
    const pMl = tm.alloc(curve.Gt.n8);
    const pRes = tm.alloc(curve.Gt.n8);
    x.ftm_one(pRes);
    const loop = (g1: Uint8Array, preQ: (p: number) => void) => {
      prepareG1(tm.allocBuff(curve.G1.toJacobian(g1)), pPreP);
      preQ(pPreQ);
      millerLoop(pPreP, pPreQ, pMl);
      x.ftm_mul(pRes, pMl, pRes);
    };
    loop(negA, (p) => x[`${name}_prepareG2`](tm.allocBuff(curve.G2.toJacobian(b)), p));
    loop(cpub, (p) => tm.setBuff(p, pk.gammaPre));
    loop(c, (p) => tm.setBuff(p, pk.deltaPre));
    tm.setBuff(pMl, pk.alphaBetaMl);
    x.ftm_mul(pRes, pMl, pRes);
    x[`${name}_finalExponentiation`](pRes, pRes);
    return !!x.ftm_eq(pRes, tm.allocBuff(curve.Gt.one));
  } finally {
    tm.endSyncOp();
  }
}

/** Same result as snarkjs.groth16.verify(vk, publicSignals, proof) (without its logger). */
export async function groth16Verify(vk: unknown, publicSignals: unknown, proof: unknown): Promise<boolean> {
  const snark = () => snarkjs.groth16.verify(vk as never, publicSignals as never, proof as never);
  if (vk === null || typeof vk !== 'object' || proof === null || typeof proof !== 'object') return snark();
  const k = vk as Record<string, unknown>;
  const { pi_a, pi_b, pi_c } = proof as Proof;
  if (!isBn254Name(k.curve) || !g1Ok(pi_a) || !g2Ok(pi_b) || !g1Ok(pi_c)) return snark();
  if (!Array.isArray(publicSignals) || !publicSignals.every(isDec)) return snark();
  if (publicSignals.length >= MAX_FAST_SIGNALS) return snark();

  const curve = (await snarkjs.curves.getCurveFromName(k.curve)) as unknown as Curve;
  const pk = prepared(curve, k);
  if (pk === null || publicSignals.length > pk.nBases) return snark();

  const signals = publicSignals.map((s) => BigInt(s));
  if (signals.some((s) => s >= curve.r)) return false;
  const cpub = publicCommitment(curve, pk, signals);

  const { G1, G2 } = curve;
  const a = G1.fromObject(big1(pi_a));
  const b = G2.fromObject(big2(pi_b));
  const c = G1.fromObject(big1(pi_c));
  if (!G1.isValid(a) || !G2.isValid(b) || !G1.isValid(c)) return false;

  return pairingCheck(curve, pk, G1.neg(a), b, cpub, c);
}

/** For tests: the public-input commitment cpub of a canonical key (Jacobian G1 bytes). */
export async function _publicCommitment(vk: unknown, signals: bigint[]): Promise<Uint8Array> {
  const k = vk as Record<string, unknown>;
  const curve = (await snarkjs.curves.getCurveFromName(String(k.curve))) as unknown as Curve;
  const pk = prepared(curve, k);
  if (pk === null || signals.length > pk.nBases) throw new Error('key outside the prepared path');
  return publicCommitment(curve, pk, signals);
}
