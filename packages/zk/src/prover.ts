// Groth16 proving in a worker thread (prover-worker.ts runs snarkjs groth16.prove), so that the
// calling thread's event loop keeps running; progress is reported at start, at every step snarkjs
// logs (reading the witness, building ABC, FFTs, each multiexp) and at the end. Node only.
import { Worker } from 'node:worker_threads';
import type { ProofArtifact } from './proof.ts';
import type { ProverMessage, ProverRequest } from './prover-worker.ts';

export type ProveProgress = {
  /** 'start' when the worker is launched, 'step' for each snarkjs log line, 'end' with the proof. */
  stage: 'start' | 'step' | 'end';
  /** snarkjs' message for steps (e.g. "Reading Wtns", "multiexp A: 0/512"). */
  message: string;
  /** Milliseconds since prove() was called. */
  elapsedMs: number;
};

export type ProveOptions = {
  onProgress?: (p: ProveProgress) => void;
  /** Aborting terminates the worker and rejects with the signal's reason. */
  signal?: AbortSignal;
};

export type ProveResult = ProofArtifact & {
  /** Time snarkjs spent proving inside the worker (excludes worker start-up). */
  proveMs: number;
  /** Wall time of the whole call, worker start-up and curve initialisation included. */
  totalMs: number;
};

export class ProveError extends Error {
  override name = 'ProveError';
}

/** Proves in a fresh worker thread from .zkey and .wtns bytes (snarkjs formats). */
export function prove(zkey: Uint8Array, wtns: Uint8Array, opts: ProveOptions = {}): Promise<ProveResult> {
  const t0 = performance.now();
  const report = (stage: ProveProgress['stage'], message: string) =>
    opts.onProgress?.({ stage, message, elapsedMs: performance.now() - t0 });
  return new Promise<ProveResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason);
      return;
    }
    // `mod` keeps the web-worker package (imported by snarkjs' ffjavascript), which treats any
    // worker thread as one of its own, from trying to require(undefined) and logging an error.
    const data: ProverRequest & { mod: string } = { zkey, wtns, mod: 'data:text/javascript,' };
    const worker = new Worker(new URL('./prover-worker.ts', import.meta.url), { workerData: data });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      finish(() => reject(opts.signal?.reason));
      void worker.terminate();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    report('start', 'proving in a worker thread');
    worker.on('message', (m: ProverMessage) => {
      if (m.type === 'progress') report('step', m.message);
      else if (m.type === 'error') finish(() => reject(new ProveError(`proving failed: ${m.message}`)));
      else {
        report('end', `proof generated in ${m.ms.toFixed(0)} ms`);
        finish(() =>
          resolve({
            proof: m.proof,
            publicSignals: m.publicSignals,
            proveMs: m.ms,
            totalMs: performance.now() - t0,
          }),
        );
      }
    });
    worker.on('error', (e) => finish(() => reject(new ProveError(`prover worker crashed: ${e.message}`))));
    worker.on('exit', (code) =>
      finish(() => reject(new ProveError(`prover worker exited with code ${code} before a result`))),
    );
  });
}
