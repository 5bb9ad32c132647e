// Our own Groth16 prover (BN254) over snarkjs' .zkey/.wtns formats, producing the same proofs
// snarkjs' groth16.prove does (same statement, same JSON shape, fresh blinding r, s), on all cores.
//
// Why hand-written: snarkjs' prover has to run single-threaded when called from a worker thread
// (ffjavascript cannot start its thread pool there), and its evaluation of the constraint matrices
// on the witness is a JavaScript loop that slices buffers and makes separate wasm calls for every
// coefficient. Here the arithmetic is the same wasm (wasmcurves, through setup-wasm.ts' Bn254Wasm)
// called directly on data in its memory, split across `os.availableParallelism()` worker threads
// (prover-worker.ts) that read the key, the witness and the intermediate values from shared memory:
//   1. abc: A·w, B·w per constraint row (and C = their product), rows split across the workers;
//   2. fft: each of A, B, C from the domain to its odd coset (inverse FFT, ×g^i, FFT), one task each;
//   3. msm: the five multi-scalar multiplications (A, B1, B2 in G2, C over the witness; H over
//      A·B − C on the coset), each split by base points into one part per worker; the parts of A,
//      B1, B2, C only need the witness, so they fill the workers while the FFTs run. Each part is
//      Bn254Wasm.msm: Pippenger with signed digits and affine buckets added in batches that share
//      one inversion (about 1.5× faster than wasmcurves' Jacobian buckets);
//   4. finish: sums of the parts, blinding, affine coordinates.
// The calling thread only parses headers, copies the inputs into shared memory (in slices, between
// which its event loop runs) and hands out tasks as workers become free.
import { Buffer } from 'node:buffer';
import { webcrypto } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MODULE_EXT } from './module-ext.ts';
import type {
  MsmName,
  ProofPoints,
  ProveLayout,
  ProveReply,
  ProveTask,
  ProveWorkerData,
} from './prover-worker.ts';
import { binSections } from './r1cs.ts';
import { scalarLE } from './setup-wasm.ts';

const N8 = 32;
/** BN254's base field order q and scalar field order r. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export type Groth16Proof = {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: 'groth16';
  curve: 'bn128';
};

export type Groth16ProveOptions = {
  /** One line per step (reading, each task started and done). */
  onStep?: (message: string) => void;
  /** Aborting terminates the workers and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Worker threads (default: os.availableParallelism()). */
  threads?: number;
};

export type Groth16ProveResult = {
  proof: Groth16Proof;
  publicSignals: string[];
  /** Wall milliseconds per phase (setup: workers + copies; abc; fft; msm; finish) and worker CPU per kind of task. */
  phases: Record<string, number>;
};

/** The input is not a BN254 Groth16 key/witness pair this prover can use. */
export class Groth16InputError extends Error {
  override name = 'Groth16InputError';
}

type Section = { start: number; size: number };

function need(secs: Map<number, Section>, type: number, size: number, what: string): Section {
  const s = secs.get(type);
  if (!s) throw new Groth16InputError(`${what}: section ${type} missing`);
  if (size >= 0 && s.size !== size)
    throw new Groth16InputError(`${what}: section ${type} has ${s.size} bytes, expected ${size}`);
  return s;
}

function readBig(bytes: Uint8Array, o: number, len: number): bigint {
  let x = 0n;
  for (let i = len - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[o + i]);
  return x;
}

/** Uniform in [1, r): 254 random bits, rejected until below r (and non-zero). */
function randomScalar(): bigint {
  for (;;) {
    const b = webcrypto.getRandomValues(new Uint8Array(N8));
    b[31] &= 0x3f;
    const x = readBig(b, 0, N8);
    if (x !== 0n && x < R) return x;
  }
}

/** Reads and checks the key and witness headers: the layout of everything the workers read. */
export function readLayout(zkey: Uint8Array, wtns: Uint8Array): ProveLayout & { zkeyEnd: number } {
  const zs = binSections(zkey, 'zkey');
  const h1 = need(zs, 1, 4, '.zkey header');
  const zv = new DataView(zkey.buffer, zkey.byteOffset, zkey.byteLength);
  if (zv.getUint32(h1.start, true) !== 1) throw new Groth16InputError('.zkey is not a Groth16 key');
  const h = need(zs, 2, 660, '.zkey Groth16 header').start;
  if (zv.getUint32(h, true) !== N8 || readBig(zkey, h + 4, N8) !== Q || zv.getUint32(h + 36, true) !== N8)
    throw new Groth16InputError('.zkey is not over BN254');
  if (readBig(zkey, h + 40, N8) !== R) throw new Groth16InputError('.zkey is not over BN254');
  const nVars = zv.getUint32(h + 72, true);
  const nPublic = zv.getUint32(h + 76, true);
  const n = zv.getUint32(h + 80, true);
  const power = Math.log2(n);
  if (!Number.isInteger(power) || power < 1 || power > 27)
    throw new Groth16InputError(`.zkey domain size ${n} is not a power of two in [2, 2^27]`);
  if (nPublic + 1 > nVars) throw new Groth16InputError('.zkey has more public signals than wires');
  const coefs = need(zs, 4, -1, '.zkey coefficients');
  const nCoefs = zv.getUint32(coefs.start, true);
  if (coefs.size !== 4 + nCoefs * (12 + N8)) throw new Groth16InputError('.zkey coefficient section size');
  const pointsA = need(zs, 5, nVars * 64, '.zkey A points').start;
  const pointsB1 = need(zs, 6, nVars * 64, '.zkey B1 points').start;
  const pointsB2 = need(zs, 7, nVars * 128, '.zkey B2 points').start;
  const pointsC = need(zs, 8, (nVars - nPublic - 1) * 64, '.zkey C points').start;
  const pointsH = need(zs, 9, n * 64, '.zkey H points').start;

  const ws = binSections(wtns, 'wtns');
  const w1 = need(ws, 1, -1, '.wtns header');
  const wv = new DataView(wtns.buffer, wtns.byteOffset, wtns.byteLength);
  if (wv.getUint32(w1.start, true) !== N8 || readBig(wtns, w1.start + 4, N8) !== R)
    throw new Groth16InputError('.wtns is not over the BN254 scalar field');
  const nWitness = wv.getUint32(w1.start + 4 + N8, true);
  if (nWitness !== nVars)
    throw new Groth16InputError(`invalid witness length: circuit has ${nVars} wires, witness ${nWitness}`);
  const witness = need(ws, 2, nVars * N8, '.wtns values').start;
  let zkeyEnd = 0;
  for (const s of zs.values()) zkeyEnd = Math.max(zkeyEnd, s.start + s.size);
  return {
    n,
    power,
    nVars,
    nPublic,
    coefStart: coefs.start + 4,
    nCoefs,
    pointsA,
    pointsB1,
    pointsB2,
    pointsC,
    pointsH,
    alpha1: h + 84,
    beta1: h + 148,
    beta2: h + 212,
    delta1: h + 468,
    delta2: h + 532,
    witness,
    zkeyEnd,
  };
}

/** Copies `src` into a SharedArrayBuffer, 32 MB at a time with the event loop running in between. */
async function toShared(src: Uint8Array, signal?: AbortSignal): Promise<SharedArrayBuffer> {
  if (
    src.buffer instanceof SharedArrayBuffer &&
    src.byteOffset === 0 &&
    src.byteLength === src.buffer.byteLength
  )
    return src.buffer;
  const sab = new SharedArrayBuffer(src.byteLength);
  const dst = new Uint8Array(sab);
  const STEP = 1 << 25;
  for (let o = 0; o < src.byteLength; o += STEP) {
    dst.set(src.subarray(o, Math.min(src.byteLength, o + STEP)), o);
    if (o + STEP < src.byteLength) await new Promise((r) => setImmediate(r));
    signal?.throwIfAborted();
  }
  return sab;
}

let cachedModule: WebAssembly.Module | undefined;

/**
 * The shared copy of each key still in use by the caller (a prover proves with the same key again
 * and again). Copying a key of a large circuit (~0.9 GB) into fresh memory costs seconds, mostly
 * page faults; checking that the caller's bytes are unchanged costs a compare of memory already
 * mapped. Held as long as the caller's key object lives.
 */
const sharedKeys = new WeakMap<Uint8Array, SharedArrayBuffer>();

async function sharedKey(zkey: Uint8Array, end: number, signal?: AbortSignal): Promise<SharedArrayBuffer> {
  const hit = sharedKeys.get(zkey);
  if (hit && hit.byteLength === end && Buffer.compare(new Uint8Array(hit), zkey.subarray(0, end)) === 0)
    return hit;
  const sab = await toShared(zkey.subarray(0, end), signal);
  if (sab !== zkey.buffer) sharedKeys.set(zkey, sab);
  return sab;
}

type Job = {
  task: DistributiveOmit<ProveTask, 'id'>;
  label: string;
  kind: string;
  deps: Job[];
  done: boolean;
  started: boolean;
  point?: Uint8Array;
  proof?: ProofPoints;
};
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Groth16 proof of the witness for the key, across worker threads (see the header). */
export async function groth16Prove(
  zkey: Uint8Array,
  wtns: Uint8Array,
  opts: Groth16ProveOptions = {},
): Promise<Groth16ProveResult> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const step = (m: string) => opts.onStep?.(m);
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  const layout = readLayout(zkey, wtns);
  const { n, nPublic, nVars } = layout;
  step('Reading Wtns');
  const publicSignals: string[] = [];
  for (let i = 1; i <= nPublic; i++)
    publicSignals.push(readBig(wtns, layout.witness + i * N8, N8).toString());

  const threads = Math.max(1, opts.threads ?? availableParallelism());
  const workers: Worker[] = [];
  let failure: ((e: unknown) => void) | undefined;
  const fail = (e: unknown) => failure?.(e);
  const onAbort = () => fail(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    step('Reading Coeffs and Points');
    const zkeyShared = await sharedKey(zkey, layout.zkeyEnd, signal);
    const wtnsShared = await toShared(wtns, signal);
    const qapShared = new SharedArrayBuffer(4 * n * N8);
    phases.copy = performance.now() - t0;
    const failed = new Promise<never>((_, reject) => {
      failure = reject;
    });
    failed.catch(() => {});
    if (signal?.aborted) fail(signal.reason);

    // Workers: the first to build the wasm (when not cached) hands it back for the next proof.
    const ready: Promise<void>[] = [];
    for (let i = 0; i < threads; i++) {
      const data: ProveWorkerData = {
        zkey: zkeyShared,
        wtns: wtnsShared,
        qap: qapShared,
        layout,
        module: cachedModule,
        mod: 'data:text/javascript,',
      };
      const wk = new Worker(new URL(`./prover-worker${MODULE_EXT}`, import.meta.url), { workerData: data });
      workers.push(wk);
      wk.on('error', (e) => fail(new Error(`prover worker crashed: ${e.message}`)));
      wk.on('exit', (code) => fail(new Error(`prover worker exited with code ${code}`)));
      ready.push(
        new Promise<void>((resolve) => {
          const first = (m: ProveReply) => {
            wk.off('message', first);
            if (m.type === 'ready') {
              if (m.module) cachedModule ??= m.module;
              resolve();
            } else if (m.type === 'error') fail(new Error(`prover worker: ${m.message}`));
          };
          wk.on('message', first);
        }),
      );
    }
    await Promise.race([Promise.all(ready), failed]);
    phases.setup = performance.now() - t0;

    // The task graph.
    const jobs: Job[] = [];
    const job = (task: Job['task'], label: string, kind: string, deps: Job[] = []): Job => {
      const j: Job = { task, label, kind, deps, done: false, started: false };
      jobs.push(j);
      return j;
    };
    const rowsTotal = n;
    // Row ranges of about equal coefficient counts (entries are sorted by row in snarkjs' and our
    // keys; if not, the split is merely uneven).
    const zv = new DataView(zkeyShared);
    const rowOf = (k: number) => zv.getUint32(layout.coefStart + k * (12 + N8) + 4, true);
    const cuts = [0];
    for (let i = 1; i < threads; i++) {
      const k = Math.floor((layout.nCoefs * i) / threads);
      const c = k < layout.nCoefs ? Math.min(rowsTotal, rowOf(k)) : rowsTotal;
      cuts.push(Math.max(cuts[i - 1], c));
    }
    cuts.push(rowsTotal);
    const abcJobs: Job[] = [];
    for (let i = 0; i < threads; i++)
      if (cuts[i + 1] > cuts[i])
        abcJobs.push(job({ op: 'abc', lo: cuts[i], hi: cuts[i + 1] }, `QAP ABC ${i + 1}/${threads}`, 'abc'));
    const fftJobs = (['A', 'B', 'C'] as const).map((x, i) =>
      job({ op: 'fft', which: i as 0 | 1 | 2 }, `FFT ${x}`, 'fft', abcJobs),
    );
    const msmJobs: Record<MsmName, Job[]> = { A: [], B1: [], B2: [], C: [], H: [] };
    const split = (name: MsmName, count: number, deps: Job[]) => {
      for (let i = 0; i < threads; i++) {
        const from = Math.floor((count * i) / threads);
        const to = Math.floor((count * (i + 1)) / threads);
        if (to > from)
          msmJobs[name].push(
            job(
              { op: 'msm', msm: name, from, to },
              `multiexp ${name}: ${i + 1}/${threads}`,
              `msm ${name}`,
              deps,
            ),
          );
      }
    };
    // Priority order: the critical path (abc → fft → H) first, then the largest independent work.
    split('H', n, fftJobs);
    split('B2', nVars, []);
    split('A', nVars, []);
    split('B1', nVars, []);
    split('C', nVars - nPublic - 1, []);
    const rs = { r: randomScalar(), s: randomScalar() };
    const negRs = (R - ((rs.r * rs.s) % R)) % R;
    const allMsm = Object.values(msmJobs).flat();
    const finishJob = job(
      {
        op: 'finish',
        parts: { A: [], B1: [], B2: [], C: [], H: [] },
        r: scalarLE(rs.r),
        s: scalarLE(rs.s),
        negRs: scalarLE(negRs),
      },
      'finish',
      'finish',
      allMsm,
    );

    const phase = (j: Job) => (j.kind.startsWith('msm') ? 'msm' : j.kind);
    const cpu: Record<string, number> = {};
    const phaseStart: Record<string, number> = {};
    const phaseEnd: Record<string, number> = {};
    const result = await Promise.race([
      failed,
      new Promise<ProofPoints>((resolve) => {
        let nextId = 0;
        /** The job each worker is running (one at a time). */
        const current = new Map<Worker, Job>();
        const pick = (): Job | undefined => jobs.find((j) => !j.started && j.deps.every((d) => d.done));
        const dispatch = (wk: Worker) => {
          if (current.has(wk)) return;
          const j = pick();
          if (!j) return;
          if (j.task.op === 'finish')
            for (const [name, list] of Object.entries(msmJobs))
              j.task.parts[name as MsmName] = list.map((m) => m.point as Uint8Array);
          j.started = true;
          current.set(wk, j);
          phaseStart[phase(j)] ??= performance.now();
          step(`${j.label} start`);
          wk.postMessage({ ...j.task, id: nextId++ } as ProveTask);
        };
        for (const wk of workers) {
          wk.on('message', (m: ProveReply) => {
            if (m.type === 'error') {
              fail(new Error(`prover worker: ${m.message}`));
              return;
            }
            if (m.type !== 'done') return;
            const j = current.get(wk);
            if (!j) return;
            current.delete(wk);
            j.done = true;
            j.point = m.point;
            cpu[j.kind] = (cpu[j.kind] ?? 0) + m.ms;
            phaseEnd[phase(j)] = performance.now();
            step(`${j.label} done (${m.ms.toFixed(0)} ms)`);
            if (j === finishJob) resolve(m.proof as ProofPoints);
            // Newly ready jobs may go to any idle worker.
            else for (const other of [wk, ...workers]) dispatch(other);
          });
        }
        for (const wk of workers) dispatch(wk);
      }),
    ]);
    for (const ph of Object.keys(phaseStart)) phases[ph] = (phaseEnd[ph] ?? phaseStart[ph]) - phaseStart[ph];
    for (const [k, v] of Object.entries(cpu)) phases[`cpu ${k}`] = v;
    phases.total = performance.now() - t0;
    return {
      proof: { pi_a: result.a, pi_b: result.b, pi_c: result.c, protocol: 'groth16', curve: 'bn128' },
      publicSignals,
      phases,
    };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    failure = undefined;
    for (const wk of workers) wk.removeAllListeners('exit');
    await Promise.all(workers.map((wk) => wk.terminate()));
  }
}
