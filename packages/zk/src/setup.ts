// Per-model Groth16 setup in two paths, writing snarkjs' own `.zkey` format:
// - development: the proving key is built DIRECTLY from known toxic waste (τ, α, β, γ, δ) derived
//   from a seed — each wire's QAP polynomials evaluated at τ over Lagrange bases, then fixed-base
//   scalar multiplications on BN254. Both run on snarkjs' own BN254 wasm (ffjavascript/wasmcurves),
//   instantiated by us and called directly (setup-wasm.ts): the field part (Lagrange basis at τ,
//   per-wire sums over the constraints, Montgomery form) on the calling thread; the curve part in
//   one worker thread per core (setup-worker.ts) with a fixed-base comb — per window of up to 16
//   bits a table of all multiples, so [s]G is one addition per window (16 for the large circuits),
//   the additions affine and batched across 8,192 scalars with one inversion per window
//   (Montgomery's trick). The workers write the points straight into the key, laid out up front in
//   shared memory. MNIST on the shared 2-core machine (docs/benchmarks.md, minimum of runs): MLP
//   2^15 domain 2.6 s, 2^16 8.4 s, CNN 2^20 43.9 s, MLP with private weights 2^21 95.6 s; in the
//   same period the previous path (bigint field part, an 8-bit comb posted to ffjavascript's
//   workers as one task object per addition) took 16.7 s, 57.8 s and 469 s (2^21: 36 min,
//   earlier). Its keys and these are byte-identical (fixture hashes in test/setup.test.ts and
//   test/setup-mlp.test.ts).
//   INSECURE by construction: anyone who knows the seed can forge proofs. The key is marked in its
//   contributions section (the circuit-hash slot holds an "INSECURE DEV KEY" marker, so
//   `snarkjs zkey verify` rejects it) and by `insecure: true` in the verification key JSON.
// - production: snarkjs `zKey.newZKey` from an operator-supplied prepared powers-of-tau file, then a
//   phase-2 contribution per party (each contribution hash recorded) and `zKey.verifyFromR1cs`.
// Keys are cached by the sha256 of the `.r1cs` bytes.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as snarkjs from 'snarkjs';
import { MODULE_EXT } from './module-ext.ts';
import { BN254_R, binSections } from './r1cs.ts';
import {
  Bn254Wasm,
  combWindow,
  type Group,
  pointSizes,
  powmod,
  rootOfUnity,
  scalarLE,
  windowsFor,
} from './setup-wasm.ts';
import type { SetupWorkerReply, SetupWorkerRequest } from './setup-worker.ts';

const R = BN254_R;
const N8 = 32;

// ---- field arithmetic over r (bigint)

function mod(x: bigint): bigint {
  const m = x % R;
  return m < 0n ? m + R : m;
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

/** The .r1cs header and where its constraints section starts. */
function readR1csHeader(bytes: Uint8Array): Omit<R1csInfo, 'constraints'> & { constraintsStart: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const secs = binSections(bytes, 'r1cs');
  const h = secs.get(1);
  const cs = secs.get(2);
  if (!h || !cs) throw new Error('.r1cs lacks its header or constraints');
  const p = h.start;
  const n8 = v.getUint32(p, true);
  if (n8 !== N8 || readFe(v, p + 4) !== R) throw new Error('.r1cs is not over BN254');
  const q = p + 4 + N8;
  return {
    nVars: v.getUint32(q, true),
    nOutputs: v.getUint32(q + 4, true),
    nPubInputs: v.getUint32(q + 8, true),
    nConstraints: v.getUint32(q + 24, true),
    constraintsStart: cs.start,
  };
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

// ---- the curve: snarkjs' BN254 wasm in our own worker threads (setup-wasm.ts, setup-worker.ts)

type Task = {
  group: Group;
  scalars: Uint8Array;
  out: SharedArrayBuffer;
  offset: number;
  resolve(): void;
  reject(e: Error): void;
};
type LemCurve = {
  G1: { g: unknown; toRprLEM(a: Uint8Array, o: number, p: unknown): void };
  G2: { g: unknown; toRprLEM(a: Uint8Array, o: number, p: unknown): void };
  tm: { code: Uint8Array };
};

let wasmSource: Promise<{ module: WebAssembly.Module; gen1: Uint8Array; gen2: Uint8Array }> | undefined;

/** snarkjs' BN254 wasm (a single-thread ffjavascript curve, for its code) and the LEM generators. */
function bn254Wasm(): Promise<{ module: WebAssembly.Module; gen1: Uint8Array; gen2: Uint8Array }> {
  wasmSource ??= (async () => {
    // snarkjs' typings omit the options argument; a single-thread curve keeps its wasm code (tm.code).
    const getCurve = snarkjs.curves.getCurveFromName as unknown as (
      name: string,
      options: { singleThread: boolean },
    ) => Promise<LemCurve>;
    const curve = await getCurve('bn128', { singleThread: true });
    const gen1 = new Uint8Array(64);
    curve.G1.toRprLEM(gen1, 0, curve.G1.g);
    const gen2 = new Uint8Array(128);
    curve.G2.toRprLEM(gen2, 0, curve.G2.g);
    return { module: await WebAssembly.compile(curve.tm.code as BufferSource), gen1, gen2 };
  })();
  return wasmSource;
}

/** Scalars (standard form, 32 bytes LE each) per multiplication task. */
const CHUNK = 8192;

/** Worker threads doing comb tables and fixed-base multiplications; three requests in flight each. */
class CurvePool {
  private readonly workers: Worker[];
  private readonly waiting: Map<number, { resolve(): void; reject(e: Error): void }>;
  private readonly queue: Task[] = [];
  private readonly busy: number[];
  private nextId = 0;
  private failed: Error | undefined;
  private readonly ops = new Map<number, string>();
  /** Worker CPU time (ms) per kind of request: `rows G1`, `mul G2`, … */
  readonly cpuMs: Record<string, number> = {};

  constructor(count: number) {
    this.waiting = new Map();
    this.busy = new Array(count).fill(0);
    this.workers = Array.from({ length: count }, (_, i) => {
      const w = new Worker(new URL(`./setup-worker${MODULE_EXT}`, import.meta.url));
      w.on('message', (m: SetupWorkerReply) => {
        const p = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) p?.reject(new Error(`setup worker: ${m.error}`));
        else {
          const op = this.ops.get(m.id);
          this.ops.delete(m.id);
          if (op) this.cpuMs[op] = (this.cpuMs[op] ?? 0) + (m.cpuMs ?? 0);
          p?.resolve();
        }
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => this.fail(new Error(`setup worker ${i} exited (${code})`)));
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
    for (const t of this.queue.splice(0)) t.reject(e);
  }

  /** Sends one request to worker `i` (requests to a worker are handled in order). */
  request(
    i: number,
    req: DistributiveOmit<SetupWorkerRequest, 'id'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    this.ops.set(id, 'group' in req ? `${req.op} ${req.group}` : req.op);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[i].postMessage({ ...req, id }, transfer);
    });
  }

  /**
   * [s]G for each scalar (standard form, 32 bytes each), written by the workers as affine LEM points
   * into `out` (shared memory) from byte `offset`; chunks go to whichever worker is free.
   */
  mul(group: Group, scalars: Uint8Array, out: SharedArrayBuffer, offset: number): Promise<void> {
    const { sOut } = pointSizes(group);
    const n = scalars.length / N8;
    const parts: Promise<void>[] = [];
    for (let from = 0; from < n; from += CHUNK) {
      const to = Math.min(n, from + CHUNK);
      parts.push(
        new Promise<void>((resolve, reject) => {
          const sc = scalars.slice(from * N8, to * N8);
          this.queue.push({ group, scalars: sc, out, offset: offset + from * sOut, resolve, reject });
          this.pump();
        }),
      );
    }
    return Promise.all(parts).then(() => undefined);
  }

  private pump(): void {
    for (let i = 0; i < this.workers.length; i++)
      while (this.busy[i] < 3 && this.queue.length > 0) {
        const t = this.queue.shift() as Task;
        this.busy[i]++;
        const { group, scalars, out, offset } = t;
        this.request(i, { op: 'mul', group, scalars, out, offset }, [scalars.buffer as ArrayBuffer]).then(
          () => {
            this.busy[i]--;
            t.resolve();
            this.pump();
          },
          (e) => t.reject(e),
        );
      }
  }

  /** Builds the comb table of `group` across the workers (shared memory), then gives it to each. */
  async table(group: Group, gen: Uint8Array, w: number): Promise<void> {
    const nw = windowsFor(w);
    const k = this.workers.length;
    const rowBytes = ((1 << w) - 1) * pointSizes(group).sOut;
    const table = new SharedArrayBuffer(nw * rowBytes);
    await Promise.all(
      this.workers.map((_, i) => {
        const from = Math.floor((nw * i) / k);
        return this.request(i, {
          op: 'rows',
          group,
          gen,
          w,
          from,
          to: Math.floor((nw * (i + 1)) / k),
          out: table,
          offset: from * rowBytes,
        });
      }),
    );
    await Promise.all(this.workers.map((_, i) => this.request(i, { op: 'table', group, w, table })));
  }

  async close(): Promise<void> {
    this.failed ??= new Error('setup pool closed');
    for (const w of this.workers) w.removeAllListeners('exit');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

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

// ---- binfile writer

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

/**
 * Where a development setup's time went (ms): fieldMs the field part on the calling thread (QAP
 * evaluation at τ, coefficients), curveMs the wait for the curve part after it (the workers start
 * at once, so their comb tables and the H section overlap the field part), tablesMs from the start
 * to both comb tables built, totalMs all of it; threads is the number of worker threads.
 */
export type DevSetupTimings = {
  fieldMs: number;
  curveMs: number;
  tablesMs: number;
  totalMs: number;
  threads: number;
  /** CPU time of the calling thread, and of the workers per request kind (`mul G1`, `rows G2`, …). */
  mainCpuMs: number;
  workerCpuMs: Record<string, number>;
};

let lastBreath = 0;

/**
 * Lets the event loop run (worker replies, handing out the next chunks) at most every 10 ms of the
 * long synchronous field loops, so that the curve workers never wait on this thread.
 */
function breathe(): Promise<void> | undefined {
  const now = performance.now();
  if (now - lastBreath < 10) return undefined;
  lastBreath = now;
  return new Promise((r) => setImmediate(r));
}

/** x_i·c/(τ − x_i) for x_i = x0·w^i, i < count, into `out` (Fr, Montgomery form); τ ≠ every x_i. */
async function geomRatio(
  f: Bn254Wasm,
  out: number,
  count: number,
  x0: bigint,
  w: bigint,
  tau: bigint,
  c: bigint,
): Promise<void> {
  const ex = f.ex;
  const mark = f.top;
  const px = f.fr(x0);
  const pw = f.fr(w);
  const pt = f.fr(tau);
  const pc = f.fr(c);
  const tmp = f.alloc(N8);
  const den = f.alloc(count * N8);
  for (let i = 0, p = den; i < count; i++, p += N8) {
    if ((i & 4095) === 0) await breathe();
    ex.frm_sub(pt, px, p);
    ex.frm_mul(px, pw, px);
  }
  f.reserve((count + 1) * N8);
  ex.frm_batchInverse(den, N8, count, out, N8);
  f.setBig(px, x0);
  ex.frm_toMontgomery(px, px);
  for (let i = 0, p = out; i < count; i++, p += N8) {
    if ((i & 4095) === 0) await breathe();
    ex.frm_mul(px, pc, tmp);
    ex.frm_mul(tmp, p, p);
    ex.frm_mul(px, pw, px);
  }
  f.top = mark;
}

/**
 * A Groth16 `.zkey` (snarkjs binary format, version 1) for the circuit, built directly from the given
 * toxic waste. Layout and point formulas follow snarkjs' zkey_new.js: IC = (βA+αB+C)/γ for the one
 * and public wires, C = (βA+αB+C)/δ for the private ones, A/B1/B2 = A(τ)/B(τ) per wire with the extra
 * "public input" constraints, H_i = L^{(2n)}_{2i+1}(τ)/δ (snarkjs proves over the odd points of the 2n
 * domain), coefficients in Montgomery-squared form.
 *
 * The field part runs on this thread in wasm (Fr in Montgomery form); comb tables and the fixed-base
 * multiplications run on one worker thread per core, overlapping it.
 */
export async function zkeyFromToxicWaste(
  r1csBytes: Uint8Array,
  tw: ToxicWaste,
  marker: Uint8Array = devMarker(r1csBytes),
): Promise<{ zkey: Uint8Array; timings: DevSetupTimings }> {
  const t0 = performance.now();
  const c0 = process.threadCpuUsage();
  const hdr = readR1csHeader(r1csBytes);
  const { nVars, nConstraints } = hdr;
  const nPublic = hdr.nOutputs + hdr.nPubInputs;
  const pow = domainPower(hdr);
  if (pow > 27) throw new Error('circuit too big');
  const n = 1 << pow;
  const src = await bn254Wasm();
  const pool = new CurvePool(Math.max(1, Math.min(availableParallelism(), 16)));
  try {
    await Promise.all(
      Array.from({ length: pool.size }, (_, i) => pool.request(i, { op: 'init', code: src.module })),
    );
    // Comb windows from the expected number of multiplications (H, then A, B1, C; B2 in G2).
    let tTables = 0;
    const table1 = pool.table('G1', src.gen1, combWindow(n + 3 * nVars));
    const table2 = pool.table('G2', src.gen2, combWindow(nVars));
    void Promise.all([table1, table2]).then(
      () => (tTables = performance.now() - t0),
      () => {},
    );

    const f = await Bn254Wasm.create(src.module);
    const ex = f.ex;
    // The key is laid out up front in shared memory: the workers write their points in place.
    const v = new DataView(r1csBytes.buffer, r1csBytes.byteOffset, r1csBytes.byteLength);
    let nCoefs = nPublic + 1;
    let p = hdr.constraintsStart;
    for (let ci = 0; ci < nConstraints; ci++)
      for (let k = 0; k < 3; k++) {
        const nt = v.getUint32(p, true);
        if (k < 2) nCoefs += nt;
        p += 4 + nt * (4 + N8);
      }
    const sizes: [number, number][] = [
      [1, 4],
      [2, 660],
      [4, 4 + nCoefs * (12 + N8)],
      [3, (nPublic + 1) * 64],
      [9, n * 64],
      [8, (nVars - nPublic - 1) * 64],
      [5, nVars * 64],
      [6, nVars * 64],
      [7, nVars * 128],
      [10, marker.length + 4],
    ];
    const zk = new SharedArrayBuffer(12 + sizes.reduce((t, [, len]) => t + 12 + len, 0));
    const z = new Uint8Array(zk);
    const zv = new DataView(zk);
    z.set(new TextEncoder().encode('zkey'));
    zv.setUint32(4, 1, true);
    zv.setUint32(8, sizes.length, true);
    const off: Record<number, number> = {};
    let zp = 12;
    for (const [type, len] of sizes) {
      zv.setUint32(zp, type, true);
      zv.setBigUint64(zp + 4, BigInt(len), true);
      off[type] = zp + 12;
      zp += 12 + len;
    }
    zv.setUint32(off[1], 1, true);
    const q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
    z.set([...u32b(N8), ...scalarLE(q), ...u32b(N8), ...scalarLE(R), ...u32b(nVars, nPublic, n)], off[2]);
    z.set(marker, off[10]);
    // L_j(τ) over the n domain (Montgomery), and the H scalars L^{(2n)}_{2i+1}(τ)/δ (standard form).
    const pL = f.alloc(n * N8);
    const pH = f.alloc(n * N8);
    const tau = mod(tw.tau);
    const id = inv(tw.delta);
    const tn = powmod(tau, BigInt(n));
    if ((tn * tn) % R === 1n) {
      // τ on the 2n domain (as in the byte-compatibility test, τ = 1): indicator vectors.
      const L = lagrangeAt(tau, pow);
      const L2 = lagrangeAt(tau, pow + 1);
      for (let j = 0; j < n; j++) {
        f.setBig(pL + j * N8, L[j]);
        ex.frm_toMontgomery(pL + j * N8, pL + j * N8);
        f.setBig(pH + j * N8, (L2[2 * j + 1] * id) % R);
      }
    } else {
      const w = rootOfUnity(pow);
      await geomRatio(f, pL, n, 1n, w, tau, mod(mod(tn - 1n) * inv(BigInt(n))));
      await geomRatio(
        f,
        pH,
        n,
        rootOfUnity(pow + 1),
        w,
        tau,
        (mod(tn * tn - 1n) * inv(BigInt(2 * n) * mod(tw.delta))) % R,
      );
      for (let i = 0, p = pH; i < n; i++, p += N8) {
        if ((i & 4095) === 0) await breathe();
        ex.frm_fromMontgomery(p, p);
      }
    }
    const hBytes = f.get(pH, n * N8);
    const hP = table1.then(() => pool.mul('G1', hBytes, zk, off[9]));
    hP.catch(() => {}); // awaited below; a worker failure meanwhile must not go unhandled

    // A, B, C per wire: Σ over constraints of coefficient · L_constraint; the coefficient section.
    const cv = new DataView(zk, off[4]);
    cv.setUint32(0, nCoefs, true);
    const Rm = mod(1n << 256n);
    const r2 = scalarBytes([(Rm * Rm) % R]);
    const pABC = f.alloc(3 * nVars * N8);
    f.u8.fill(0, pABC, pABC + 3 * nVars * N8);
    const tmp = f.alloc(N8);
    const tmp2 = f.alloc(N8);
    let cp = 4;
    p = hdr.constraintsStart;
    const m32 = new Uint32Array(f.memory.buffer);
    const t32 = tmp >>> 2;
    const t2w = tmp2 >>> 2;
    const r2w = Array.from({ length: 8 }, (_, i) => new DataView(r2.buffer).getUint32(4 * i, true));
    for (let ci = 0; ci < nConstraints; ci++) {
      if ((ci & 1023) === 0) await breathe();
      const pLc = pL + ci * N8;
      for (let k = 0; k < 3; k++) {
        const nt = v.getUint32(p, true);
        p += 4;
        const base = pABC + k * nVars * N8;
        for (let t = 0; t < nt; t++, p += 4 + N8) {
          const s = v.getUint32(p, true);
          const acc = base + s * N8;
          const o = p + 4;
          const w0 = v.getUint32(o, true);
          const w1 = v.getUint32(o + 4, true);
          const w2 = v.getUint32(o + 8, true);
          const w3 = v.getUint32(o + 12, true);
          const w4 = v.getUint32(o + 16, true);
          const w5 = v.getUint32(o + 20, true);
          const w6 = v.getUint32(o + 24, true);
          const w7 = v.getUint32(o + 28, true);
          const one = w0 === 1 && (w1 | w2 | w3 | w4 | w5 | w6 | w7) === 0;
          if (one) ex.frm_add(acc, pLc, acc);
          else {
            m32[t32] = w0;
            m32[t32 + 1] = w1;
            m32[t32 + 2] = w2;
            m32[t32 + 3] = w3;
            m32[t32 + 4] = w4;
            m32[t32 + 5] = w5;
            m32[t32 + 6] = w6;
            m32[t32 + 7] = w7;
            ex.frm_toMontgomery(tmp, tmp);
            ex.frm_mul(tmp, pLc, tmp2);
            ex.frm_add(acc, tmp2, acc);
          }
          if (k < 2) {
            // Coefficient section entry: matrix, constraint, signal, coefficient·R² (standard form).
            cv.setUint32(cp, k, true);
            cv.setUint32(cp + 4, ci, true);
            cv.setUint32(cp + 8, s, true);
            if (!one) ex.frm_toMontgomery(tmp, tmp2);
            for (let i = 0; i < 8; i++) cv.setUint32(cp + 12 + 4 * i, one ? r2w[i] : m32[t2w + i], true);
            cp += 12 + N8;
          }
        }
      }
    }
    for (let s = 0; s <= nPublic; s++) {
      ex.frm_add(pABC + s * N8, pL + (nConstraints + s) * N8, pABC + s * N8);
      cv.setUint32(cp, 0, true);
      cv.setUint32(cp + 4, nConstraints + s, true);
      cv.setUint32(cp + 8, s, true);
      for (let i = 0; i < 8; i++) cv.setUint32(cp + 12 + 4 * i, r2w[i], true);
      cp += 12 + N8;
    }
    // IC (one and public wires) = (βA+αB+C)/γ, C (private wires) = (βA+αB+C)/δ; all to standard form.
    const pAlpha = f.fr(tw.alpha);
    const pBeta = f.fr(tw.beta);
    const pIg = f.fr(inv(tw.gamma));
    const pId = f.fr(id);
    const pLin = f.alloc(nVars * N8);
    const pa = pABC;
    const pb = pABC + nVars * N8;
    const pc = pABC + 2 * nVars * N8;
    for (let s = 0; s < nVars; s++) {
      if ((s & 4095) === 0) await breathe();
      const o = s * N8;
      ex.frm_mul(pBeta, pa + o, tmp);
      ex.frm_mul(pAlpha, pb + o, tmp2);
      ex.frm_add(tmp, tmp2, tmp);
      ex.frm_add(tmp, pc + o, tmp);
      ex.frm_mul(tmp, s <= nPublic ? pIg : pId, pLin + o);
      ex.frm_fromMontgomery(pLin + o, pLin + o);
      ex.frm_fromMontgomery(pa + o, pa + o);
      ex.frm_fromMontgomery(pb + o, pb + o);
    }
    const icS = f.get(pLin, (nPublic + 1) * N8);
    const cS = f.get(pLin + (nPublic + 1) * N8, (nVars - nPublic - 1) * N8);
    const aS = f.get(pa, nVars * N8);
    const bS = f.get(pb, nVars * N8);
    const t1 = performance.now();

    // Header points: alpha1, beta1 | beta2, gamma2 | delta1 | delta2 after the 84 bytes of sizes.
    const h2 = off[2] + 84;
    const g1 = table1.then(() =>
      Promise.all([
        pool.mul('G1', scalarBytes([tw.alpha, tw.beta]), zk, h2),
        pool.mul('G1', scalarBytes([tw.delta]), zk, h2 + 384),
        pool.mul('G1', icS, zk, off[3]),
        pool.mul('G1', cS, zk, off[8]),
        pool.mul('G1', aS, zk, off[5]),
        pool.mul('G1', bS, zk, off[6]),
      ]),
    );
    const g2 = table2.then(() =>
      Promise.all([
        pool.mul('G2', scalarBytes([tw.beta, tw.gamma]), zk, h2 + 128),
        pool.mul('G2', scalarBytes([tw.delta]), zk, h2 + 448),
        pool.mul('G2', bS, zk, off[7]),
      ]),
    );
    await Promise.all([hP, g1, g2]);
    const t2 = performance.now();

    // A copy in ordinary memory: callers may hand the key to other threads or keep it long.
    const zkey = z.slice();
    const t3 = performance.now();
    return {
      zkey,
      timings: {
        fieldMs: t1 - t0,
        curveMs: t2 - t1,
        tablesMs: tTables,
        totalMs: t3 - t0,
        threads: pool.size,
        mainCpuMs: (() => {
          const c = process.threadCpuUsage(c0);
          return (c.user + c.system) / 1000;
        })(),
        workerCpuMs: pool.cpuMs,
      },
    };
  } finally {
    await pool.close();
  }
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
  const pow = domainPower(readR1csHeader(r1csBytes));
  const { zkey, timings } = await zkeyFromToxicWaste(r1csBytes, devToxicWaste(seed, pow));
  const vk = await zKey.exportVerificationKey({ type: 'mem', data: zkey }, quiet);
  vk.insecure = true;
  vk.devSeed = seed;
  return { zkey, vk, circuitHash: circuitHash(r1csBytes), mode: 'dev', ms: performance.now() - t0, timings };
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

/** File names of a circuit's keys in a key cache: `<sha256(r1cs)>.<dev-<seed hash>|ptau>.zkey|.json`. */
export function keyPaths(
  cacheDir: string,
  hash: string,
  mode: SetupMode,
): { zkeyPath: string; vkPath: string } {
  const tag =
    mode.kind === 'dev'
      ? `dev-${createHash('sha256')
          .update(mode.seed ?? 'aivm-dev')
          .digest('hex')
          .slice(0, 12)}`
      : 'ptau';
  return { zkeyPath: join(cacheDir, `${hash}.${tag}.zkey`), vkPath: join(cacheDir, `${hash}.${tag}.json`) };
}

/**
 * A file's bytes in shared memory: the prover's workers read a key from a SharedArrayBuffer, and
 * one that is already there is used in place instead of being copied (groth16-prove.ts), so a key
 * read this way is in memory once.
 */
export function readShared(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const out = new Uint8Array(new SharedArrayBuffer(size));
    for (let off = 0; off < size; ) {
      const n = readSync(fd, out, off, size - off, off);
      if (n === 0) throw new Error(`${path} ended at byte ${off} of ${size}`);
      off += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * The cached keys of the circuit whose `.r1cs` hashes to `hash`, or undefined when the cache has
 * no complete entry for it (or its zkey no longer matches the recorded hash). The zkey is in
 * shared memory (readShared).
 */
export function readCachedKeys(
  cacheDir: string,
  hash: string,
  mode: SetupMode,
): (KeyPair & { zkeyPath: string; vkPath: string }) | undefined {
  const { zkeyPath, vkPath } = keyPaths(cacheDir, hash, mode);
  if (!existsSync(vkPath) || !existsSync(zkeyPath)) return undefined;
  const rec = JSON.parse(readFileSync(vkPath, 'utf8'));
  const zkey = readShared(zkeyPath);
  if (rec.zkeySha256 !== createHash('sha256').update(zkey).digest('hex')) return undefined;
  return { ...rec.keys, vk: rec.vk, zkey, zkeyPath, vkPath, ms: 0 };
}

/**
 * Keys for a circuit from `cacheDir`, created (and written atomically: zkey, then the JSON that
 * marks the entry complete) when absent. Files: keyPaths; the JSON holds the verification key and
 * the setup record.
 */
export async function loadOrCreateKeys(
  cacheDir: string,
  r1csBytes: Uint8Array,
  mode: SetupMode,
): Promise<KeyPair & { cached: boolean; zkeyPath: string; vkPath: string }> {
  const hash = circuitHash(r1csBytes);
  mkdirSync(cacheDir, { recursive: true });
  const cached = readCachedKeys(cacheDir, hash, mode);
  if (cached) return { ...cached, cached: true };
  const { zkeyPath, vkPath } = keyPaths(cacheDir, hash, mode);
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
