// Poseidon over BN254, compatible with circomlib's Poseidon and the `poseidon-lite` package
// (poseidonN hashes N = t − 1 field elements with state width t = 2..17): x^5 S-box, 8 full rounds,
// partial rounds per t as in circomlib, initial state [0, in_1 … in_N], output state[0].
//
// Parameters: the round constants and the Cauchy MDS matrix are regenerated here exactly as the
// reference script does (hadeshash generate_parameters_grain.sage: field 1, S-box 0, n = 254, t,
// R_F = 8, R_P): an 80-bit Grain LFSR seeded with those fields and thirty ones, 160 warm-up
// clocks, self-shrinking output (pairs (a, b): emit b when a = 1), constants as 254-bit big-endian
// integers rejected when ≥ r, then 2t elements x_0..x_{t-1}, y_0..y_{t-1} (reduced mod r) with
// M[i][j] = 1/(x_i + y_j). The tests check them against poseidon-lite's constants for every t.
//
// The gadget: each S-box costs 3 constraints (x2 = x·x, x4 = x2·x2, y = x4·x) on a linear
// combination x of earlier signals; adding round constants and the MDS mix are linear and free. An
// S-box whose input is a constant (the capacity element in the first round, constant inputs) is
// folded into a constant and costs nothing. A permutation of width t therefore costs
// 3·(8·t + R_P) constraints minus 3 per constant first-round element: 240 for t = 3 and 609 for
// t = 17 (the same as circomlib).
//
// Commitment to many field elements (commitInputs / commitGadget), for an off-chain client with
// poseidon-lite — a Merkle-Damgård chain with poseidon16 as the compression function:
//   1. v_0 … v_{n−1} (n ≥ 1) are field elements (a signed integer v is v mod r).
//   2. Split them into chunks of 15 in order; the last chunk is padded with zeros to 15.
//   3. acc = n (the element count, which disambiguates the zero padding);
//      for each chunk in order: acc = poseidon16([acc, chunk_0 … chunk_14]).
//   4. The commitment is acc.
// One width-17 permutation per 15 elements (~41 constraints per element in the circuit). For 784
// pixels: 53 × poseidon16.
// Browser-safe: no node: imports.
import { poseidon16 } from 'poseidon-lite';
import { BN254_R, fmod, type LC, ONE, type R1csBuilder, sig } from './r1cs.ts';

const P = BN254_R;

export const POSEIDON_FULL_ROUNDS = 8;
/** Partial rounds for t = 2 … 17 (index t − 2), as circomlib and poseidon-lite. */
export const POSEIDON_PARTIAL_ROUNDS = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

export type PoseidonParams = {
  t: number;
  roundsF: number;
  roundsP: number;
  /** Round constants, (roundsF + roundsP)·t, round-major. */
  C: bigint[];
  /** MDS matrix: new_i = Σ_j M[i][j]·state_j. */
  M: bigint[][];
};

function powMod(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = b % P;
  while (e > 0n) {
    if (e & 1n) r = (r * x) % P;
    x = (x * x) % P;
    e >>= 1n;
  }
  return r;
}

const cache = new Map<number, PoseidonParams>();

/** The parameters of width t (2 … 17), generated once and cached. */
export function poseidonParams(t: number): PoseidonParams {
  const hit = cache.get(t);
  if (hit) return hit;
  if (!Number.isInteger(t) || t < 2 || t > 17)
    throw new RangeError(`Poseidon width t must be 2..17, got ${t}`);
  const roundsF = POSEIDON_FULL_ROUNDS;
  const roundsP = POSEIDON_PARTIAL_ROUNDS[t - 2];
  const seed: number[] = [];
  const push = (v: number, n: number): void => {
    for (let i = n - 1; i >= 0; i--) seed.push((v >> i) & 1);
  };
  push(1, 2);
  push(0, 4);
  push(254, 12);
  push(t, 12);
  push(roundsF, 10);
  push(roundsP, 10);
  for (let i = 0; i < 30; i++) seed.push(1);
  let pos = 0;
  const clock = (): number => {
    const s = seed;
    const nb =
      s[(pos + 62) % 80] ^
      s[(pos + 51) % 80] ^
      s[(pos + 38) % 80] ^
      s[(pos + 23) % 80] ^
      s[(pos + 13) % 80] ^
      s[pos];
    s[pos] = nb;
    pos = (pos + 1) % 80;
    return nb;
  };
  for (let i = 0; i < 160; i++) clock();
  const bit = (): number => {
    for (;;) {
      const a = clock();
      const b = clock();
      if (a === 1) return b;
    }
  };
  const rand = (): bigint => {
    let v = 0n;
    for (let i = 0; i < 254; i++) v = (v << 1n) | BigInt(bit());
    return v;
  };
  const C: bigint[] = [];
  for (let i = 0; i < (roundsF + roundsP) * t; i++) {
    let v = rand();
    while (v >= P) v = rand();
    C.push(v);
  }
  const xy = Array.from({ length: 2 * t }, () => rand() % P);
  const M = xy.slice(0, t).map((x) => xy.slice(t).map((y) => powMod((x + y) % P, P - 2n)));
  const params = { t, roundsF, roundsP, C, M };
  cache.set(t, params);
  return params;
}

/** Native Poseidon of 1 … 16 field elements from our own parameters (equals poseidon-lite's poseidonN). */
export function poseidonNative(inputs: readonly bigint[]): bigint {
  const t = inputs.length + 1;
  const { roundsF, roundsP, C, M } = poseidonParams(t);
  let s = [0n, ...inputs.map(fmod)];
  const pow5 = (v: bigint): bigint => {
    const v2 = (v * v) % P;
    return (((v2 * v2) % P) * v) % P;
  };
  for (let r = 0; r < roundsF + roundsP; r++) {
    const full = r < roundsF / 2 || r >= roundsF / 2 + roundsP;
    for (let i = 0; i < t; i++) {
      s[i] = (s[i] + C[r * t + i]) % P;
      if (full || i === 0) s[i] = pow5(s[i]);
    }
    s = M.map((row) => row.reduce((acc, m, j) => acc + m * s[j], 0n) % P);
  }
  return s[0];
}

/** Constraints of one permutation of width t with no constant inputs (capacity element folded). */
export function poseidonConstraints(t: number): number {
  const { roundsF, roundsP } = poseidonParams(t);
  return 3 * (roundsF * t + roundsP) - 3;
}

/** An LC that is a constant (only the ONE term, or empty): its value, else undefined. */
function constOf(l: LC): bigint | undefined {
  if (l.size === 0) return 0n;
  if (l.size === 1 && l.has(ONE)) return l.get(ONE) as bigint;
  return undefined;
}

function evalReduced(l: LC, w: readonly (bigint | undefined)[]): bigint {
  let acc = 0n;
  for (const [s, c] of l) {
    const v = w[s];
    if (v === undefined) throw new Error(`signal ${s} has no witness value`);
    acc += c * v;
  }
  return fmod(acc);
}

/** x^5 of a linear combination: three constraints and three signals (none when x is constant). */
function sbox(b: R1csBuilder, x: LC, label: string): LC {
  const k = constOf(x);
  if (k !== undefined) return new Map([[ONE, powMod(fmod(k), 5n)]]);
  const x2 = b.signal(`${label}.x2`);
  const x4 = b.signal(`${label}.x4`);
  const x5 = b.signal(`${label}.x5`);
  b.hint((w) => {
    const v = evalReduced(x, w);
    const v2 = (v * v) % P;
    const v4 = (v2 * v2) % P;
    w[x2] = v2;
    w[x4] = v4;
    w[x5] = (v4 * v) % P;
  });
  b.constrain(x, x, sig(x2), `${label}: x2 = x·x`);
  b.constrain(sig(x2), sig(x2), sig(x4), `${label}: x4 = x2·x2`);
  b.constrain(sig(x4), x, sig(x5), `${label}: x5 = x4·x`);
  return sig(x5);
}

/**
 * The partial rounds of width t as a template over symbols: the basis is [ONE, y_0 … y_{t−1}
 * (the state entering the first partial round), z_0 … z_{R_P−1} (the S-box outputs of the partial
 * rounds)]. sboxIn[k] is the S-box input of partial round k (round constants added) over
 * [ONE, y, z_0 … z_{k−1}], out the state after the last partial round's MDS mix. Computed once per
 * t with dense vectors, so that a gadget instance only substitutes its own signals: mixing the
 * growing linear combinations of every instance (t² products per basis element per round) made
 * the 3,400-element weight commitment of the MNIST MLP take most of a minute to compile.
 */
type PartialTemplate = { sboxIn: bigint[][]; out: bigint[][] };
const templates = new Map<number, PartialTemplate>();

function partialTemplate(t: number): PartialTemplate {
  const hit = templates.get(t);
  if (hit) return hit;
  const { roundsF, roundsP, C, M } = poseidonParams(t);
  const L = 1 + t + roundsP;
  const unit = (k: number): bigint[] => {
    const v = new Array<bigint>(L).fill(0n);
    v[k] = 1n;
    return v;
  };
  let s = Array.from({ length: t }, (_, i) => unit(1 + i));
  const sboxIn: bigint[][] = [];
  for (let k = 0; k < roundsP; k++) {
    const r = roundsF / 2 + k;
    for (let i = 0; i < t; i++) s[i][0] = (s[i][0] + C[r * t + i]) % P;
    sboxIn.push(s[0].slice(0, 1 + t + k));
    s[0] = unit(1 + t + k);
    s = M.map((row) => {
      const v = new Array<bigint>(L);
      for (let e = 0; e < L; e++) {
        let acc = 0n;
        for (let j = 0; j < t; j++) acc += row[j] * s[j][e];
        v[e] = acc % P;
      }
      return v;
    });
  }
  const tpl = { sboxIn, out: s };
  templates.set(t, tpl);
  return tpl;
}

/** Σ v_0·ONE + Σ v_{1+j}·y_j + Σ v_{1+t+k}·z_k as a reduced linear combination without zero terms. */
function substitute(v: readonly bigint[], y: readonly LC[], z: readonly LC[]): LC {
  const m: LC = new Map();
  const add = (l: LC, k: bigint): void => {
    for (const [s, c] of l) m.set(s, (m.get(s) ?? 0n) + k * c);
  };
  if (v[0] !== 0n) m.set(ONE, v[0]);
  for (let j = 0; j < y.length; j++) if (v[1 + j] !== 0n) add(y[j], v[1 + j]);
  for (let k = 0; 1 + y.length + k < v.length; k++) {
    const c = v[1 + y.length + k];
    if (c !== 0n) add(z[k], c);
  }
  for (const [s, c] of m) {
    const r = fmod(c);
    if (r === 0n) m.delete(s);
    else m.set(s, r);
  }
  return m;
}

/**
 * Poseidon of 1 … 16 linear combinations (circomlib PoseidonN): returns the output as a linear
 * combination of the gadget's signals (the last MDS mix is linear; use poseidonSignal for a wire).
 * Full rounds mix explicitly (their states are single signals after the S-boxes); the partial
 * rounds substitute this instance's signals into the per-t template.
 */
export function poseidonGadget(b: R1csBuilder, inputs: readonly LC[], label = 'poseidon'): LC {
  const t = inputs.length + 1;
  const { roundsF, roundsP, C, M } = poseidonParams(t);
  const norm = (l: LC): LC => {
    const m: LC = new Map();
    for (const [s, c] of l) {
      const v = fmod(c);
      if (v !== 0n) m.set(s, v);
    }
    return m;
  };
  const fullRound = (state: LC[], r: number): LC[] => {
    const last = r === roundsF + roundsP - 1;
    for (let i = 0; i < t; i++) {
      const l = new Map(state[i]);
      l.set(ONE, fmod((l.get(ONE) ?? 0n) + C[r * t + i]));
      state[i] = sbox(b, l, `${label}.r${r}.s${i}`);
    }
    // MDS mix (only row 0 after the last round).
    const rows = last ? 1 : t;
    const acc: Map<number, bigint>[] = Array.from({ length: rows }, () => new Map());
    for (let j = 0; j < t; j++)
      for (const [s, c] of state[j])
        for (let i = 0; i < rows; i++) {
          const a = acc[i];
          a.set(s, (a.get(s) ?? 0n) + M[i][j] * c);
        }
    return acc.map(norm);
  };
  let state: LC[] = [new Map(), ...inputs.map(norm)];
  for (let r = 0; r < roundsF / 2; r++) state = fullRound(state, r);
  const tpl = partialTemplate(t);
  const y = state;
  const z: LC[] = [];
  for (let k = 0; k < roundsP; k++)
    z.push(sbox(b, substitute(tpl.sboxIn[k], y, z), `${label}.r${roundsF / 2 + k}.s0`));
  state = tpl.out.map((v) => substitute(v, y, z));
  for (let r = roundsF / 2 + roundsP; r < roundsF + roundsP; r++) state = fullRound(state, r);
  return state[0];
}

/** poseidonGadget with its output on a fresh signal (one more constraint); returns the signal id. */
export function poseidonSignal(b: R1csBuilder, inputs: readonly LC[], label = 'poseidon'): number {
  return lcSignal(b, poseidonGadget(b, inputs, label), `${label}.out`);
}

/** A fresh signal equal to l (one constraint, with its hint). */
export function lcSignal(
  b: R1csBuilder,
  l: LC,
  label: string,
  role: 'private' | 'output' | 'input' = 'private',
): number {
  const id = b.signal(label, role);
  b.hint((w) => {
    w[id] = evalReduced(l, w);
  });
  const d = new Map(l);
  d.set(id, (d.get(id) ?? 0n) - 1n);
  b.zero(d, `${label} = poseidon output`);
  return id;
}

const CHUNK = 15;

/** The commitment scheme of the file header, natively with poseidon-lite. */
export function commitInputs(values: readonly (bigint | number)[]): bigint {
  if (values.length === 0) throw new RangeError('commitInputs needs at least one element');
  let acc = BigInt(values.length);
  for (let i = 0; i < values.length; i += CHUNK) {
    const chunk = Array.from({ length: CHUNK }, (_, k) =>
      i + k < values.length ? fmod(BigInt(values[i + k])) : 0n,
    );
    acc = poseidon16([acc, ...chunk]);
  }
  return acc;
}

/** Constraints of commitGadget over n non-constant elements. */
export function commitConstraints(n: number): number {
  const chunks = Math.ceil(n / CHUNK);
  const pad = chunks * CHUNK - n;
  // Each zero pad element is a constant first-round S-box; the first step hashes the constant n.
  return chunks * poseidonConstraints(17) - 3 * pad - 3;
}

/** The commitment of the header over linear combinations (in circuit); returns its LC. */
export function commitGadget(b: R1csBuilder, values: readonly LC[], label = 'commit'): LC {
  if (values.length === 0) throw new RangeError('commitGadget needs at least one element');
  let acc: LC = new Map([[ONE, BigInt(values.length)]]);
  for (let i = 0; i < values.length; i += CHUNK) {
    const chunk = Array.from(
      { length: CHUNK },
      (_, k): LC => (i + k < values.length ? values[i + k] : new Map()),
    );
    acc = poseidonGadget(b, [acc, ...chunk], `${label}.chunk${i / CHUNK}`);
  }
  return acc;
}
