// Per-model Groth16 setup in two paths, writing snarkjs' own `.zkey` format:
// - development: the proving key is built DIRECTLY from known toxic waste (τ, α, β, γ, δ) derived
//   from a seed — each wire's QAP polynomials evaluated at τ over Lagrange bases, then fixed-base
//   scalar multiplications on BN254 in ffjavascript's wasm (snarkjs' curve, its worker threads).
//   INSECURE by construction: anyone who knows the seed can forge proofs. The key is marked in its
//   contributions section (the circuit-hash slot holds an "INSECURE DEV KEY" marker, so
//   `snarkjs zkey verify` rejects it) and by `insecure: true` in the verification key JSON.
// - production: snarkjs `zKey.newZKey` from an operator-supplied prepared powers-of-tau file, then a
//   phase-2 contribution per party (each contribution hash recorded) and `zKey.verifyFromR1cs`.
// Keys are cached by the sha256 of the `.r1cs` bytes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import { BN254_R } from './r1cs.ts';

const R = BN254_R;
const N8 = 32;

// ---- field arithmetic over r (bigint)

function mod(x: bigint): bigint {
  const m = x % R;
  return m < 0n ? m + R : m;
}

function powmod(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = mod(b);
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = (r * x) % R;
    x = (x * x) % R;
    k >>= 1n;
  }
  return r;
}

function inv(x: bigint): bigint {
  if (mod(x) === 0n) throw new Error('inverse of zero');
  return powmod(x, R - 2n);
}

/** Montgomery's batch inversion (all inputs non-zero). */
function batchInv(xs: bigint[]): bigint[] {
  const n = xs.length;
  const pre: bigint[] = new Array(n);
  let acc = 1n;
  for (let i = 0; i < n; i++) {
    pre[i] = acc;
    acc = (acc * xs[i]) % R;
  }
  let ia = inv(acc);
  const out: bigint[] = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = (ia * pre[i]) % R;
    ia = (ia * xs[i]) % R;
  }
  return out;
}

/** The 2^k-th root of unity of BN254's Fr as ffjavascript (and so snarkjs' FFT) defines it. */
function rootOfUnity(k: number): bigint {
  // ffjavascript: w[s] = nqr^t with r-1 = 2^s·t, s = 28, nqr = 5; w[i] = w[i+1]^2.
  const s = 28;
  const t = (R - 1n) >> BigInt(s);
  let w = powmod(5n, t);
  for (let i = s; i > k; i--) w = (w * w) % R;
  return w;
}

/** L_j(τ) for j < m over the domain {ω^j} of size m = 2^k: ω^j (τ^m − 1) / (m (τ − ω^j)). */
function lagrangeAt(tau: bigint, k: number): bigint[] {
  const m = 1 << k;
  const w = rootOfUnity(k);
  const pts: bigint[] = new Array(m);
  let x = 1n;
  for (let j = 0; j < m; j++) {
    pts[j] = x;
    x = (x * w) % R;
  }
  const t = mod(tau);
  const hit = pts.indexOf(t);
  if (hit >= 0) return pts.map((_, j) => (j === hit ? 1n : 0n));
  const zt = mod(powmod(t, BigInt(m)) - 1n);
  const dens = batchInv(pts.map((p) => mod(((t - p) * BigInt(m)) % R)));
  return pts.map((p, j) => (((p * zt) % R) * dens[j]) % R);
}

// ---- .r1cs reading (iden3 binfile)

export type R1csInfo = {
  nVars: number;
  nOutputs: number;
  nPubInputs: number;
  nConstraints: number;
  /** Per constraint, the A, B, C terms as [signal, coefficient] (coefficients reduced mod r). */
  constraints: [number, bigint][][][];
};

function readFe(v: DataView, o: number): bigint {
  return (
    v.getBigUint64(o, true) |
    (v.getBigUint64(o + 8, true) << 64n) |
    (v.getBigUint64(o + 16, true) << 128n) |
    (v.getBigUint64(o + 24, true) << 192n)
  );
}

function binSections(bytes: Uint8Array, magic: string): Map<number, { start: number; size: number }> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = String.fromCharCode(...bytes.subarray(0, 4));
  if (m !== magic) throw new Error(`not a .${magic} file`);
  const n = v.getUint32(8, true);
  const out = new Map<number, { start: number; size: number }>();
  let p = 12;
  for (let i = 0; i < n; i++) {
    const type = v.getUint32(p, true);
    const size = Number(v.getBigUint64(p + 4, true));
    out.set(type, { start: p + 12, size });
    p += 12 + size;
  }
  return out;
}

export function readR1csInfo(bytes: Uint8Array): R1csInfo {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const secs = binSections(bytes, 'r1cs');
  const h = secs.get(1);
  const cs = secs.get(2);
  if (!h || !cs) throw new Error('.r1cs lacks its header or constraints');
  let p = h.start;
  const n8 = v.getUint32(p, true);
  if (n8 !== N8 || readFe(v, p + 4) !== R) throw new Error('.r1cs is not over BN254');
  p += 4 + N8;
  const nVars = v.getUint32(p, true);
  const nOutputs = v.getUint32(p + 4, true);
  const nPubInputs = v.getUint32(p + 8, true);
  const nConstraints = v.getUint32(p + 24, true);
  const constraints: [number, bigint][][][] = new Array(nConstraints);
  p = cs.start;
  for (let c = 0; c < nConstraints; c++) {
    const abc: [number, bigint][][] = [];
    for (let k = 0; k < 3; k++) {
      const n = v.getUint32(p, true);
      p += 4;
      const terms: [number, bigint][] = new Array(n);
      for (let i = 0; i < n; i++) {
        terms[i] = [v.getUint32(p, true), readFe(v, p + 4)];
        p += 4 + N8;
      }
      abc.push(terms);
    }
    constraints[c] = abc;
  }
  return { nVars, nOutputs, nPubInputs, nConstraints, constraints };
}

/** snarkjs' domain: the smallest power of two above nConstraints + nPublic (so ≥ that + 1). */
export function domainPower(info: Pick<R1csInfo, 'nConstraints' | 'nOutputs' | 'nPubInputs'>): number {
  const v = info.nConstraints + info.nOutputs + info.nPubInputs;
  return Math.floor(Math.log2(v)) + 1;
}

// ---- the curve (snarkjs' ffjavascript bn128, wasm + worker threads)

type Task = Record<string, unknown>;
type WasmCurve = {
  G1: { g: Uint8Array; toRprLEM(a: Uint8Array, o: number, p: Uint8Array): void; F: { n8: number } };
  G2: { g: Uint8Array; toRprLEM(a: Uint8Array, o: number, p: Uint8Array): void; F: { n8: number } };
  tm: { concurrency: number; queueAction(t: Task[]): Promise<Uint8Array[]> };
};

/** snarkjs' bn128 (ffjavascript caches it; asking each time survives a `terminate()`). */
function getCurve(): Promise<WasmCurve> {
  return snarkjs.curves.getCurveFromName('bn128') as unknown as Promise<WasmCurve>;
}

function scalarBytes(xs: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(xs.length * N8);
  const v = new DataView(out.buffer);
  for (let i = 0; i < xs.length; i++) {
    let x = mod(xs[i]);
    for (let k = 0; k < 4; k++) {
      v.setBigUint64(i * N8 + k * 8, x & 0xffffffffffffffffn, true);
      x >>= 64n;
    }
  }
  return out;
}

const tables = new Map<string, Promise<Uint8Array>>();

/** Comb table: affine LEM points d·2^(8j)·G for j < 32, d in 1..255, at index 255·j + d − 1. */
function combTable(curve: WasmCurve, group: 'G1' | 'G2'): Promise<Uint8Array> {
  let t = tables.get(group);
  if (t) return t;
  t = (async () => {
    const G = curve[group];
    const sOut = G.F.n8 * 2;
    const sMid = G.F.n8 * 3;
    const pre = group === 'G1' ? 'g1m' : 'g2m';
    const base = new Uint8Array(sOut);
    G.toRprLEM(base, 0, G.g);
    const half = 16;
    const parts = await Promise.all(
      [0, 1].map((h) => {
        const js = Array.from({ length: half }, (_, k) => h * half + k);
        const task: Task[] = [
          { cmd: 'ALLOCSET', var: 0, buff: base },
          { cmd: 'ALLOCSET', var: 1, buff: scalarBytes(js.map((j) => 1n << BigInt(8 * j))) },
          { cmd: 'ALLOC', var: 2, len: half * sMid },
          { cmd: 'ALLOC', var: 3, len: half * sOut },
          { cmd: 'ALLOC', var: 4, len: half * 255 * sMid },
        ];
        for (let k = 0; k < half; k++)
          task.push({
            cmd: 'CALL',
            fnName: `${pre}_timesScalarAffine`,
            params: [{ var: 0 }, { var: 1, offset: k * N8 }, { val: N8 }, { var: 2, offset: k * sMid }],
          });
        task.push({
          cmd: 'CALL',
          fnName: `${pre}_batchToAffine`,
          params: [{ var: 2 }, { val: half }, { var: 3 }],
        });
        for (let k = 0; k < half; k++) {
          task.push({
            cmd: 'CALL',
            fnName: `${pre}_copy`,
            params: [
              { var: 2, offset: k * sMid },
              { var: 4, offset: k * 255 * sMid },
            ],
          });
          for (let d = 1; d < 255; d++)
            task.push({
              cmd: 'CALL',
              fnName: `${pre}_addMixed`,
              params: [
                { var: 4, offset: (k * 255 + d - 1) * sMid },
                { var: 3, offset: k * sOut },
                { var: 4, offset: (k * 255 + d) * sMid },
              ],
            });
        }
        task.push({
          cmd: 'CALL',
          fnName: `${pre}_batchToAffine`,
          params: [{ var: 4 }, { val: half * 255 }, { var: 4 }],
        });
        task.push({ cmd: 'GET', out: 0, var: 4, len: half * 255 * sOut });
        return curve.tm.queueAction(task).then((r) => r[0]);
      }),
    );
    const out = new Uint8Array(32 * 255 * sOut);
    out.set(parts[0], 0);
    out.set(parts[1], parts[0].length);
    return out;
  })();
  tables.set(group, t);
  return t;
}

/** [s_i]·G for the generator G of G1 or G2, as affine points in snarkjs' LEM layout (comb method). */
async function fixedBaseMul(
  curve: WasmCurve,
  group: 'G1' | 'G2',
  scalars: readonly bigint[],
): Promise<Uint8Array> {
  const G = curve[group];
  const sOut = G.F.n8 * 2;
  const sMid = G.F.n8 * 3;
  const table = await combTable(curve, group);
  const pre = group === 'G1' ? 'g1m' : 'g2m';
  const out = new Uint8Array(scalars.length * sOut);
  const chunk = 4096;
  // A bounded number of chunks in flight: each chunk's task list holds ~33 call objects per scalar,
  // so queueing every chunk of a 2^21-domain key at once would need tens of GB.
  let next = 0;
  const runner = async (): Promise<void> => {
    for (;;) {
      const from = next;
      next += chunk;
      if (from >= scalars.length) return;
      await mulChunk(from);
    }
  };
  const mulChunk = async (from: number): Promise<void> => {
    const n = Math.min(chunk, scalars.length - from);
    const sb = scalarBytes(scalars.slice(from, from + n));
    const task: Task[] = [
      { cmd: 'ALLOCSET', var: 0, buff: table },
      { cmd: 'ALLOC', var: 2, len: n * sMid },
      { cmd: 'ALLOC', var: 3, len: sMid },
    ];
    for (let i = 0; i < n; i++) {
      const mine = { var: 2, offset: i * sMid };
      const scratch = { var: 3, offset: 0 };
      task.push({ cmd: 'CALL', fnName: `${pre}_zero`, params: [mine] });
      let k = 0;
      for (let j = 0; j < 32; j++) {
        const d = sb[i * N8 + j];
        if (d === 0) continue;
        task.push({
          cmd: 'CALL',
          fnName: `${pre}_addMixed`,
          params: [
            k % 2 ? scratch : mine,
            { var: 0, offset: (j * 255 + d - 1) * sOut },
            k % 2 ? mine : scratch,
          ],
        });
        k++;
      }
      if (k % 2) task.push({ cmd: 'CALL', fnName: `${pre}_copy`, params: [scratch, mine] });
    }
    task.push({ cmd: 'CALL', fnName: `${pre}_batchToAffine`, params: [{ var: 2 }, { val: n }, { var: 2 }] });
    task.push({ cmd: 'GET', out: 0, var: 2, len: n * sOut });
    const [r] = await curve.tm.queueAction(task);
    out.set(r, from * sOut);
  };
  await Promise.all(Array.from({ length: Math.max(2, curve.tm.concurrency * 2) }, runner));
  return out;
}

// ---- binfile writer

class Bin {
  parts: Uint8Array[] = [];
  len = 0;
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.len += b.length;
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.push(b);
  }
  section(type: number, body: Uint8Array[]): void {
    const size = body.reduce((s, b) => s + b.length, 0);
    const h = new Uint8Array(12);
    const v = new DataView(h.buffer);
    v.setUint32(0, type, true);
    v.setBigUint64(4, BigInt(size), true);
    this.push(h);
    for (const b of body) this.push(b);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    let p = 0;
    for (const b of this.parts) {
      out.set(b, p);
      p += b.length;
    }
    return out;
  }
}

function u32b(...vs: number[]): Uint8Array {
  const b = new Uint8Array(4 * vs.length);
  const v = new DataView(b.buffer);
  for (let i = 0; i < vs.length; i++) v.setUint32(4 * i, vs[i], true);
  return b;
}

// ---- development setup

export type ToxicWaste = { tau: bigint; alpha: bigint; beta: bigint; gamma: bigint; delta: bigint };

/** The marker written in the circuit-hash slot of every development key. */
export const DEV_KEY_MARKER = 'AIVM INSECURE DEVELOPMENT KEY - NEVER USE IN PRODUCTION';

/** Deterministic toxic waste from a seed: sha256(`aivm-dev-setup/<seed>/<name>/<ctr>`) mod r, τ off the domain. */
export function devToxicWaste(seed: string, domainPow = 28): ToxicWaste {
  const derive = (name: string, ok: (x: bigint) => boolean): bigint => {
    for (let ctr = 0; ; ctr++) {
      const h = createHash('sha256').update(`aivm-dev-setup/${seed}/${name}/${ctr}`).digest('hex');
      const x = mod(BigInt(`0x${h}`));
      if (x !== 0n && ok(x)) return x;
    }
  };
  // τ must not be a root of unity of the (2n) domain: τ^(2^(pow+1)) ≠ 1.
  const offDomain = (x: bigint) => powmod(x, 1n << BigInt(Math.min(domainPow + 1, 28))) !== 1n;
  return {
    tau: derive('tau', offDomain),
    alpha: derive('alpha', () => true),
    beta: derive('beta', () => true),
    gamma: derive('gamma', () => true),
    delta: derive('delta', () => true),
  };
}

export type DevSetupTimings = { fieldMs: number; curveMs: number; totalMs: number };

/**
 * A Groth16 `.zkey` (snarkjs binary format, version 1) for the circuit, built directly from the given
 * toxic waste. Layout and point formulas follow snarkjs' zkey_new.js: IC = (βA+αB+C)/γ for the one
 * and public wires, C = (βA+αB+C)/δ for the private ones, A/B1/B2 = A(τ)/B(τ) per wire with the extra
 * "public input" constraints, H_i = L^{(2n)}_{2i+1}(τ)/δ (snarkjs proves over the odd points of the 2n
 * domain), coefficients in Montgomery-squared form.
 */
export async function zkeyFromToxicWaste(
  r1csBytes: Uint8Array,
  tw: ToxicWaste,
  marker: Uint8Array = devMarker(r1csBytes),
): Promise<{ zkey: Uint8Array; timings: DevSetupTimings }> {
  const t0 = performance.now();
  const info = readR1csInfo(r1csBytes);
  const curve = await getCurve();
  const { nVars, nConstraints } = info;
  const nPublic = info.nOutputs + info.nPubInputs;
  const pow = domainPower(info);
  if (pow > 27) throw new Error('circuit too big');
  const n = 1 << pow;
  const L = lagrangeAt(tw.tau, pow);
  const a: bigint[] = new Array(nVars).fill(0n);
  const b: bigint[] = new Array(nVars).fill(0n);
  const c: bigint[] = new Array(nVars).fill(0n);
  // Coefficient section: [matrix, constraint, signal, coef·R² mod r].
  const Rm = mod(1n << 256n);
  const R2 = (Rm * Rm) % R;
  let nCoefs = nPublic + 1;
  for (const [A, B] of info.constraints) nCoefs += A.length + B.length;
  const coefs = new Uint8Array(4 + nCoefs * (12 + N8));
  const cv = new DataView(coefs.buffer);
  cv.setUint32(0, nCoefs, true);
  let cp = 4;
  const coef = (m: number, ci: number, s: number, k: bigint): void => {
    cv.setUint32(cp, m, true);
    cv.setUint32(cp + 4, ci, true);
    cv.setUint32(cp + 8, s, true);
    let x = (k * R2) % R;
    for (let i = 0; i < 4; i++) {
      cv.setBigUint64(cp + 12 + 8 * i, x & 0xffffffffffffffffn, true);
      x >>= 64n;
    }
    cp += 12 + N8;
  };
  for (let ci = 0; ci < nConstraints; ci++) {
    const [A, B, C] = info.constraints[ci];
    const l = L[ci];
    for (const [s, k] of A) {
      a[s] = (a[s] + k * l) % R;
      coef(0, ci, s, k);
    }
    for (const [s, k] of B) {
      b[s] = (b[s] + k * l) % R;
      coef(1, ci, s, k);
    }
    for (const [s, k] of C) c[s] = (c[s] + k * l) % R;
  }
  for (let s = 0; s <= nPublic; s++) {
    a[s] = (a[s] + L[nConstraints + s]) % R;
    coef(0, nConstraints + s, s, 1n);
  }
  const ig = inv(tw.gamma);
  const id = inv(tw.delta);
  const lin = (s: number) => (tw.beta * a[s] + tw.alpha * b[s] + c[s]) % R;
  const ic: bigint[] = [];
  for (let s = 0; s <= nPublic; s++) ic.push((lin(s) * ig) % R);
  const cs: bigint[] = [];
  for (let s = nPublic + 1; s < nVars; s++) cs.push((lin(s) * id) % R);
  const L2 = lagrangeAt(tw.tau, pow + 1);
  const hs: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) hs[i] = (L2[2 * i + 1] * id) % R;
  const t1 = performance.now();

  const [hdr1, hdr2, icP, hP, cP, aP, b1P, b2P] = await Promise.all([
    fixedBaseMul(curve, 'G1', [tw.alpha, tw.beta, tw.delta]),
    fixedBaseMul(curve, 'G2', [tw.beta, tw.gamma, tw.delta]),
    fixedBaseMul(curve, 'G1', ic),
    fixedBaseMul(curve, 'G1', hs),
    fixedBaseMul(curve, 'G1', cs),
    fixedBaseMul(curve, 'G1', a),
    fixedBaseMul(curve, 'G1', b),
    fixedBaseMul(curve, 'G2', b),
  ]);
  const t2 = performance.now();

  const w = new Bin();
  w.push(new TextEncoder().encode('zkey'));
  w.u32(1);
  w.u32(10);
  w.section(1, [u32b(1)]);
  const q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
  w.section(2, [
    u32b(N8),
    scalarBytesRaw(q),
    u32b(N8),
    scalarBytesRaw(R),
    u32b(nVars, nPublic, n),
    hdr1.subarray(0, 128), // alpha1, beta1
    hdr2.subarray(0, 256), // beta2, gamma2
    hdr1.subarray(128, 192), // delta1
    hdr2.subarray(256, 384), // delta2
  ]);
  w.section(4, [coefs]);
  w.section(3, [icP]);
  w.section(9, [hP]);
  w.section(8, [cP]);
  w.section(5, [aP]);
  w.section(6, [b1P]);
  w.section(7, [b2P]);
  w.section(10, [marker, u32b(0)]);
  const t3 = performance.now();
  return { zkey: w.bytes(), timings: { fieldMs: t1 - t0, curveMs: t2 - t1, totalMs: t3 - t0 } };
}

function scalarBytesRaw(x: bigint): Uint8Array {
  const out = new Uint8Array(N8);
  let v = x;
  for (let i = 0; i < N8; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** 64 bytes for the circuit-hash slot: the ASCII marker, then the start of sha256 of the r1cs. */
function devMarker(r1csBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  const m = new TextEncoder().encode(DEV_KEY_MARKER).subarray(0, 56);
  out.set(m);
  out.set(
    createHash('sha256')
      .update(r1csBytes)
      .digest()
      .subarray(0, 64 - m.length),
    m.length,
  );
  return out;
}

/** True when the zkey carries the development marker (built by devSetup, insecure). */
export function isDevZkey(zkey: Uint8Array): boolean {
  const secs = binSections(zkey, 'zkey');
  const s = secs.get(10);
  if (!s) return false;
  const m = new TextEncoder().encode(DEV_KEY_MARKER).subarray(0, 56);
  return zkey.subarray(s.start, s.start + m.length).every((x, i) => x === m[i]);
}

export type KeyPair = {
  /** The proving key in snarkjs' `.zkey` format. */
  zkey: Uint8Array;
  /** snarkjs' verification key JSON; dev keys carry `insecure: true`. */
  vk: Record<string, unknown>;
  /** sha256 hex of the `.r1cs` bytes. */
  circuitHash: string;
  mode: 'dev' | 'ptau';
  /** ptau path only: each party's name and contribution hash (hex, 64 bytes). */
  contributions?: { name: string; hash: string }[];
  ms: number;
};

const quiet = { warn() {}, info() {}, error() {}, debug() {} };

type ZKeyApi = {
  newZKey(r1cs: unknown, ptau: unknown, zkey: unknown, logger?: unknown): Promise<unknown>;
  contribute(
    oldZ: unknown,
    newZ: unknown,
    name: string,
    entropy: string,
    logger?: unknown,
  ): Promise<Uint8Array>;
  verifyFromR1cs(r1cs: unknown, ptau: unknown, zkey: unknown, logger?: unknown): Promise<boolean>;
  exportVerificationKey(zkey: unknown, logger?: unknown): Promise<Record<string, unknown>>;
};
const zKey = snarkjs.zKey as unknown as ZKeyApi;

export function circuitHash(r1csBytes: Uint8Array): string {
  return createHash('sha256').update(r1csBytes).digest('hex');
}

/** INSECURE development setup (seconds): toxic waste derived from `seed`, known to anyone who knows it. */
export async function devSetup(
  r1csBytes: Uint8Array,
  seed = 'aivm-dev',
): Promise<KeyPair & { timings: DevSetupTimings }> {
  const t0 = performance.now();
  const pow = domainPower(readR1csHeaderOnly(r1csBytes));
  const { zkey, timings } = await zkeyFromToxicWaste(r1csBytes, devToxicWaste(seed, pow));
  const vk = await zKey.exportVerificationKey({ type: 'mem', data: zkey }, quiet);
  vk.insecure = true;
  vk.devSeed = seed;
  return { zkey, vk, circuitHash: circuitHash(r1csBytes), mode: 'dev', ms: performance.now() - t0, timings };
}

function readR1csHeaderOnly(bytes: Uint8Array): {
  nConstraints: number;
  nOutputs: number;
  nPubInputs: number;
} {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = binSections(bytes, 'r1cs').get(1);
  if (!h) throw new Error('.r1cs lacks its header');
  const p = h.start + 4 + N8;
  return {
    nOutputs: v.getUint32(p + 4, true),
    nPubInputs: v.getUint32(p + 8, true),
    nConstraints: v.getUint32(p + 24, true),
  };
}

/**
 * Production setup: snarkjs newZKey from a prepared ceremony powers-of-tau file, then one phase-2
 * contribution per party (hashes recorded in order), then verifyFromR1cs (throws when it fails).
 */
export async function setupFromPtau(
  r1csBytes: Uint8Array,
  ptauPath: string,
  contributions: { name: string; entropy: string }[],
): Promise<KeyPair> {
  const t0 = performance.now();
  if (contributions.length === 0) throw new Error('production setup needs at least one phase-2 contribution');
  const r1cs = { type: 'mem' as const, data: r1csBytes };
  let cur: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  const res = await zKey.newZKey(r1cs, ptauPath, cur, quiet);
  if (!(res instanceof Uint8Array) || !cur.data)
    throw new Error('snarkjs newZKey failed (ptau too small or not prepared?)');
  const recorded: { name: string; hash: string }[] = [];
  for (const { name, entropy } of contributions) {
    const next: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
    const h = await zKey.contribute(cur, next, name, entropy, quiet);
    recorded.push({ name, hash: Buffer.from(h).toString('hex') });
    cur = next;
  }
  const zkey = cur.data as Uint8Array;
  if (!(await zKey.verifyFromR1cs(r1cs, ptauPath, { type: 'mem', data: zkey }, quiet)))
    throw new Error('zkey does not verify against the r1cs and ptau');
  const vk = await zKey.exportVerificationKey({ type: 'mem', data: zkey }, quiet);
  return {
    zkey,
    vk,
    circuitHash: circuitHash(r1csBytes),
    mode: 'ptau',
    contributions: recorded,
    ms: performance.now() - t0,
  };
}

export type SetupMode =
  | { kind: 'dev'; seed?: string }
  | { kind: 'ptau'; ptauPath: string; contributions: { name: string; entropy: string }[] };

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Keys for a circuit from `cacheDir`, created (and written atomically: zkey, then the JSON that
 * marks the entry complete) when absent. Files: `<sha256(r1cs)>.<dev-<seed hash>|ptau>.zkey|.json`,
 * the JSON holding the verification key and the setup record.
 */
export async function loadOrCreateKeys(
  cacheDir: string,
  r1csBytes: Uint8Array,
  mode: SetupMode,
): Promise<KeyPair & { cached: boolean; zkeyPath: string; vkPath: string }> {
  const hash = circuitHash(r1csBytes);
  const tag =
    mode.kind === 'dev'
      ? `dev-${createHash('sha256')
          .update(mode.seed ?? 'aivm-dev')
          .digest('hex')
          .slice(0, 12)}`
      : 'ptau';
  mkdirSync(cacheDir, { recursive: true });
  const zkeyPath = join(cacheDir, `${hash}.${tag}.zkey`);
  const vkPath = join(cacheDir, `${hash}.${tag}.json`);
  if (existsSync(vkPath) && existsSync(zkeyPath)) {
    const rec = JSON.parse(readFileSync(vkPath, 'utf8'));
    const zkey = new Uint8Array(readFileSync(zkeyPath));
    if (rec.zkeySha256 === createHash('sha256').update(zkey).digest('hex'))
      return { ...rec.keys, vk: rec.vk, zkey, cached: true, zkeyPath, vkPath, ms: 0 };
  }
  const kp =
    mode.kind === 'dev'
      ? await devSetup(r1csBytes, mode.seed)
      : await setupFromPtau(r1csBytes, mode.ptauPath, mode.contributions);
  writeAtomic(zkeyPath, kp.zkey);
  const rec = {
    vk: kp.vk,
    zkeySha256: createHash('sha256').update(kp.zkey).digest('hex'),
    keys: { circuitHash: hash, mode: kp.mode, contributions: kp.contributions },
  };
  writeAtomic(vkPath, JSON.stringify(rec, null, 1));
  return { ...kp, cached: false, zkeyPath, vkPath };
}

export { lagrangeAt as _lagrangeAt, rootOfUnity as _rootOfUnity };
