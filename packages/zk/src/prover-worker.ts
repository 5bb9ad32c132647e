// Worker thread of the Groth16 prover (groth16-prove.ts): one instance of snarkjs' BN254 wasm
// (wasmcurves, through setup-wasm.ts' Bn254Wasm) per thread, driven by direct calls. Requests are
// handled in order; the .zkey, the witness and the QAP evaluations live in shared memory, so a
// request names only ranges. Node only.
import { parentPort, workerData } from 'node:worker_threads';
import { Bn254Wasm, rootOfUnity } from './setup-wasm.ts';

const N8 = 32;

/** Byte offsets into the shared .zkey / .wtns copies, as read by groth16-prove.ts. */
export type ProveLayout = {
  /** Domain size n (a power of two) and its log2. */
  n: number;
  power: number;
  nVars: number;
  nPublic: number;
  /** First coefficient entry (12 + 32 bytes each) and their count. */
  coefStart: number;
  nCoefs: number;
  /** Affine LEM base points: A, B1 (G1), B2 (G2) per wire; C per private wire; H per domain point. */
  pointsA: number;
  pointsB1: number;
  pointsB2: number;
  pointsC: number;
  pointsH: number;
  /** Header points (LEM affine): α1, β1, δ1 (G1), β2, δ2 (G2). */
  alpha1: number;
  beta1: number;
  delta1: number;
  beta2: number;
  delta2: number;
  /** Witness values (standard form, 32 bytes each) in the .wtns copy. */
  witness: number;
};

export type ProveWorkerData = {
  zkey: SharedArrayBuffer;
  wtns: SharedArrayBuffer;
  /** A, B, C over the domain (Montgomery), n·32 bytes each, then H's scalars (standard, n·32). */
  qap: SharedArrayBuffer;
  layout: ProveLayout;
  /** The compiled wasm when the coordinator has it; otherwise built here from snarkjs. */
  module?: WebAssembly.Module;
  /** Keeps the web-worker package (imported by snarkjs' ffjavascript) quiet in this thread. */
  mod: string;
};

export type MsmName = 'A' | 'B1' | 'B2' | 'C' | 'H';

export type ProveTask =
  | { id: number; op: 'abc'; lo: number; hi: number }
  | { id: number; op: 'fft'; which: 0 | 1 | 2 }
  | { id: number; op: 'msm'; msm: MsmName; from: number; to: number }
  | {
      id: number;
      op: 'finish';
      /** Jacobian partial sums (Montgomery), per multiexp. */
      parts: Record<MsmName, Uint8Array[]>;
      /** Blinding scalars r, s and −r·s mod r (standard form, 32 bytes LE each). */
      r: Uint8Array;
      s: Uint8Array;
      negRs: Uint8Array;
    };

export type ProofPoints = { a: string[]; b: string[][]; c: string[] };

export type ProveReply =
  | { type: 'ready'; module?: WebAssembly.Module }
  | { type: 'done'; id: number; ms: number; point?: Uint8Array; proof?: ProofPoints }
  | { type: 'error'; id?: number; message: string };

const port = parentPort;
if (!port) throw new Error('prover-worker.ts must run in a worker thread');
const data = workerData as ProveWorkerData;
const L = data.layout;
const zkey = new Uint8Array(data.zkey);
const wtns = new Uint8Array(data.wtns);
const qap = new Uint8Array(data.qap);

async function wasmModule(): Promise<WebAssembly.Module> {
  if (data.module) return data.module;
  // snarkjs' typings omit the options argument; a single-thread curve keeps its wasm code.
  const snarkjs = await import('snarkjs');
  const getCurve = snarkjs.curves.getCurveFromName as unknown as (
    name: string,
    o: { singleThread: boolean },
  ) => Promise<{ tm: { code: Uint8Array }; terminate(): Promise<void> }>;
  const curve = await getCurve('bn128', { singleThread: true });
  const mod = await WebAssembly.compile(curve.tm.code as BufferSource);
  await curve.terminate();
  return mod;
}

let w: Bn254Wasm;
try {
  const module = await wasmModule();
  w = await Bn254Wasm.create(module);
  port.postMessage({ type: 'ready', module: data.module ? undefined : module } satisfies ProveReply);
} catch (e) {
  port.postMessage({
    type: 'error',
    message: e instanceof Error ? e.message : String(e),
  } satisfies ProveReply);
  throw e;
}
/** Everything a request allocates lies above this mark and is dropped after it. */
const base = w.top;

port.on('message', (t: ProveTask) => {
  const t0 = performance.now();
  try {
    const reply: ProveReply = { type: 'done', id: t.id, ms: 0 };
    if (t.op === 'abc') abc(t.lo, t.hi);
    else if (t.op === 'fft') fft(t.which);
    else if (t.op === 'msm') reply.point = msm(t.msm, t.from, t.to);
    else reply.proof = finish(t);
    reply.ms = performance.now() - t0;
    port.postMessage(reply);
  } catch (e) {
    port.postMessage({
      type: 'error',
      id: t.id,
      message: e instanceof Error ? (e.stack ?? e.message) : String(e),
    } satisfies ProveReply);
  } finally {
    w.top = base;
  }
});

/** Coefficient entries copied into wasm memory per step. */
const COEF_CHUNK = 1 << 15;
const S_COEF = 12 + N8;

/**
 * Rows [lo, hi) of A·w, B·w (the matrices evaluated on the witness, one value per constraint) and
 * their product C, in Montgomery form, into the shared QAP buffer. The key stores each coefficient
 * as c·R² (standard form), i.e. the Montgomery form of c·R, so one Montgomery product with the
 * witness value (standard form) gives c·w in Montgomery form. Coefficients of rows outside
 * [lo, hi), and of matrices other than A and B, are skipped.
 */
function abc(lo: number, hi: number): void {
  const ex = w.ex;
  const rows = hi - lo;
  const pW = w.alloc(L.nVars * N8);
  w.set(pW, wtns.subarray(L.witness, L.witness + L.nVars * N8));
  const pA = w.alloc(rows * N8);
  const pB = w.alloc(rows * N8);
  const pC = w.alloc(rows * N8);
  const pCo = w.alloc(COEF_CHUNK * S_COEF);
  const tmp = w.alloc(N8);
  w.u8.fill(0, pA, pC);
  const { frm_mul, frm_add } = ex;
  const u32 = new Uint32Array(w.memory.buffer);
  const out = [pA, pB];
  for (let k0 = 0; k0 < L.nCoefs; k0 += COEF_CHUNK) {
    const k1 = Math.min(L.nCoefs, k0 + COEF_CHUNK);
    const from = L.coefStart + k0 * S_COEF;
    w.u8.set(zkey.subarray(from, from + (k1 - k0) * S_COEF), pCo);
    for (let k = 0, q = pCo >>> 2; k < k1 - k0; k++, q += S_COEF >>> 2) {
      const c = u32[q + 1];
      if (c < lo || c >= hi) {
        if (c >= L.n) throw new Error(`coefficient row ${c} outside the domain`);
        continue;
      }
      const m = u32[q];
      if (m > 1) continue;
      const s = u32[q + 2];
      if (s >= L.nVars) throw new Error(`coefficient signal ${s} out of range`);
      frm_mul(pCo + k * S_COEF + 12, pW + s * N8, tmp);
      const o = out[m] + (c - lo) * N8;
      frm_add(o, tmp, o);
    }
  }
  for (let i = 0; i < rows; i++) frm_mul(pA + i * N8, pB + i * N8, pC + i * N8);
  for (let j = 0; j < 3; j++) {
    const p = [pA, pB, pC][j];
    qap.set(w.u8.subarray(p, p + rows * N8), (j * L.n + lo) * N8);
  }
}

/**
 * One of A, B, C (0, 1, 2): from its values on the domain ⟨ω⟩ to its values on the odd coset
 * g·⟨ω⟩ (g a primitive 2n-th root of unity, g² = ω): inverse FFT to coefficients, coefficient i
 * times g^i, FFT. In place in the shared QAP buffer.
 */
function fft(which: 0 | 1 | 2): void {
  const ex = w.ex;
  const n = L.n;
  const p = w.alloc(n * N8);
  const off = which * n * N8;
  w.set(p, qap.subarray(off, off + n * N8));
  const first = w.fr(1n);
  const inc = w.fr(rootOfUnity(L.power + 1));
  ex.frm_ifft(p, n);
  ex.frm_batchApplyKey(p, n, first, inc, p);
  ex.frm_fft(p, n);
  qap.set(w.u8.subarray(p, p + n * N8), off);
}

/** H's scalars for rows [lo, hi): A·B − C on the odd coset, standard form, into the H region. */
function hScalars(lo: number, hi: number): void {
  const ex = w.ex;
  const n = L.n;
  const rows = hi - lo;
  const ps = [0, 1, 2].map((j) => {
    const p = w.alloc(rows * N8);
    w.set(p, qap.subarray((j * n + lo) * N8, (j * n + hi) * N8));
    return p;
  });
  const pH = w.alloc(rows * N8);
  ex.qap_joinABC(ps[0], ps[1], ps[2], rows, pH);
  ex.frm_batchFromMontgomery(pH, rows, pH);
  qap.set(w.u8.subarray(pH, pH + rows * N8), (3 * n + lo) * N8);
}

const GROUP: Record<MsmName, 'G1' | 'G2'> = { A: 'G1', B1: 'G1', B2: 'G2', C: 'G1', H: 'G1' };

/**
 * Σ s_i·P_i over bases [from, to) of one multiexp (for C, wire nPublic + 1 + i; for H, domain
 * point i, the H scalars being computed here first), by Bn254Wasm.msm (Pippenger, affine buckets).
 * Returns the sum as a Jacobian point (Montgomery).
 */
function msm(name: MsmName, from: number, to: number): Uint8Array {
  const group = GROUP[name];
  const sB = group === 'G1' ? 64 : 128;
  const sJ = (sB * 3) / 2;
  const count = to - from;
  let bases: number;
  let scalars: Uint8Array;
  const wit = (i: number) => L.witness + i * N8;
  if (name === 'H') {
    hScalars(from, to);
    bases = L.pointsH;
    scalars = qap.subarray((3 * L.n + from) * N8, (3 * L.n + to) * N8);
  } else if (name === 'C') {
    bases = L.pointsC;
    scalars = wtns.subarray(wit(L.nPublic + 1 + from), wit(L.nPublic + 1 + to));
  } else {
    bases = name === 'A' ? L.pointsA : name === 'B1' ? L.pointsB1 : L.pointsB2;
    scalars = wtns.subarray(wit(from), wit(to));
  }
  const pB = w.alloc(count * sB);
  w.set(pB, zkey.subarray(bases + from * sB, bases + to * sB));
  const pS = w.alloc(count * N8);
  w.set(pS, scalars);
  const pR = w.alloc(sJ);
  w.msm(group, pB, pS, count, pR);
  return w.get(pR, sJ);
}

/**
 * The proof from the multiexp sums:
 *   π_A = Σ w_i·A_i + α1 + r·δ1,   π_B = Σ w_i·B2_i + β2 + s·δ2,
 *   π_C = Σ_priv w_i·C_i + Σ h_j·H_j + s·π_A + r·(Σ w_i·B1_i + β1 + s·δ1) − r·s·δ1,
 * in affine coordinates, as decimal strings with z = 1.
 */
function finish(t: Extract<ProveTask, { op: 'finish' }>): ProofPoints {
  const ex = w.ex;
  const sum = (name: MsmName): number => {
    const sJ = GROUP[name] === 'G1' ? 96 : 192;
    const pre = GROUP[name] === 'G1' ? 'g1m' : 'g2m';
    const p = w.alloc(sJ);
    ex[`${pre}_zero`](p);
    const q = w.alloc(sJ);
    for (const part of t.parts[name]) {
      w.set(q, part);
      ex[`${pre}_add`](p, q, p);
    }
    return p;
  };
  const hdr = (off: number, len: number) => {
    const p = w.alloc(len);
    w.set(p, zkey.subarray(off, off + len));
    return p;
  };
  const sc = (b: Uint8Array) => {
    const p = w.alloc(N8);
    w.set(p, b);
    return p;
  };
  const r = sc(t.r);
  const s = sc(t.s);
  const negRs = sc(t.negRs);
  const alpha1 = hdr(L.alpha1, 64);
  const beta1 = hdr(L.beta1, 64);
  const delta1 = hdr(L.delta1, 64);
  const beta2 = hdr(L.beta2, 128);
  const delta2 = hdr(L.delta2, 128);
  const t1 = w.alloc(96);
  const t2 = w.alloc(192);

  const pa = sum('A');
  ex.g1m_addMixed(pa, alpha1, pa);
  ex.g1m_timesScalarAffine(delta1, r, N8, t1);
  ex.g1m_add(pa, t1, pa);

  const pb = sum('B2');
  ex.g2m_addMixed(pb, beta2, pb);
  ex.g2m_timesScalarAffine(delta2, s, N8, t2);
  ex.g2m_add(pb, t2, pb);

  const pb1 = sum('B1');
  ex.g1m_addMixed(pb1, beta1, pb1);
  ex.g1m_timesScalarAffine(delta1, s, N8, t1);
  ex.g1m_add(pb1, t1, pb1);

  const pc = sum('C');
  const ph = sum('H');
  ex.g1m_add(pc, ph, pc);
  ex.g1m_timesScalar(pa, s, N8, t1);
  ex.g1m_add(pc, t1, pc);
  ex.g1m_timesScalar(pb1, r, N8, t1);
  ex.g1m_add(pc, t1, pc);
  ex.g1m_timesScalarAffine(delta1, negRs, N8, t1);
  ex.g1m_add(pc, t1, pc);

  return { a: g1Object(pa), b: g2Object(pb), c: g1Object(pc) };
}

/** The field element (Fq, Montgomery) at p as a decimal string. */
function fq(p: number): string {
  const t = w.alloc(N8);
  w.ex.f1m_fromMontgomery(p, t);
  return w.getBig(t).toString();
}

/** A Jacobian G1 point as snarkjs' object: [x, y, 1] (or [0, 1, 0] for the point at infinity). */
function g1Object(p: number): string[] {
  if (w.ex.g1m_isZero(p)) return ['0', '1', '0'];
  const a = w.alloc(64);
  w.ex.g1m_toAffine(p, a);
  return [fq(a), fq(a + N8), '1'];
}

function g2Object(p: number): string[][] {
  if (w.ex.g2m_isZero(p))
    return [
      ['0', '0'],
      ['1', '0'],
      ['0', '0'],
    ];
  const a = w.alloc(128);
  w.ex.g2m_toAffine(p, a);
  return [
    [fq(a), fq(a + N8)],
    [fq(a + 64), fq(a + 96)],
    ['1', '0'],
  ];
}
