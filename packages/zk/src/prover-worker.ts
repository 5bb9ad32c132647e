// Worker thread body of prover.ts: runs snarkjs groth16.prove on in-memory .zkey/.wtns bytes and
// posts progress (snarkjs' logger messages) and the result. Node only.
import { parentPort, workerData } from 'node:worker_threads';
import * as snarkjs from 'snarkjs';

export type ProverRequest = { zkey: Uint8Array; wtns: Uint8Array };
export type ProverMessage =
  | { type: 'progress'; level: 'debug' | 'info' | 'warn'; message: string }
  | { type: 'result'; proof: snarkjs.Groth16Proof; publicSignals: string[]; ms: number }
  | { type: 'error'; message: string; stack?: string };

const port = parentPort;
if (!port) throw new Error('prover-worker.ts must run in a worker thread');
const post = (m: ProverMessage) => port.postMessage(m);
const text = (a: unknown[]) => a.map((x) => (typeof x === 'string' ? x : String(x))).join(' ');
const logger = {
  debug: (...a: unknown[]) => post({ type: 'progress', level: 'debug', message: text(a) }),
  info: (...a: unknown[]) => post({ type: 'progress', level: 'info', message: text(a) }),
  warn: (...a: unknown[]) => post({ type: 'progress', level: 'warn', message: text(a) }),
  error: (...a: unknown[]) => post({ type: 'progress', level: 'warn', message: text(a) }),
};

const req = workerData as ProverRequest;
try {
  // ffjavascript cannot start its own thread pool inside a worker thread ("Worker is not a
  // constructor"), so snarkjs runs single-threaded here (one core, off the caller's thread).
  const t0 = performance.now();
  const { proof, publicSignals } = await (
    snarkjs.groth16.prove as (...a: unknown[]) => ReturnType<typeof snarkjs.groth16.prove>
  )({ type: 'mem', data: req.zkey }, { type: 'mem', data: req.wtns }, logger, { singleThread: true });
  post({ type: 'result', proof, publicSignals, ms: performance.now() - t0 });
} catch (e) {
  const err = e as Error;
  post({ type: 'error', message: err?.message ?? String(e), stack: err?.stack });
} finally {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await g.curve_bn128?.terminate();
  port.close();
}
