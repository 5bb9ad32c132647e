// Groth16 proving off the calling thread: groth16-prove.ts splits the work (constraint evaluation,
// FFTs, multi-scalar multiplications) across worker threads (prover-worker.ts), so that the
// calling thread's event loop keeps running; progress is reported at start, at every step (reading,
// each task started and done) and at the end. Node only.
import { groth16Prove } from './groth16-prove.ts';
import type { ProofArtifact } from './proof.ts';

export type ProveProgress = {
  /** 'start' when proving begins, 'step' for each step, 'end' with the proof. */
  stage: 'start' | 'step' | 'end';
  /** The step (e.g. "Reading Wtns", "FFT A start", "multiexp A: 1/2 done (812 ms)"). */
  message: string;
  /** Milliseconds since prove() was called. */
  elapsedMs: number;
};

export type ProveOptions = {
  onProgress?: (p: ProveProgress) => void;
  /** Aborting terminates the workers and rejects with the signal's reason. */
  signal?: AbortSignal;
};

export type ProveResult = ProofArtifact & {
  /** Time spent proving once the workers were up (excludes worker start-up and copying the inputs). */
  proveMs: number;
  /** Wall time of the whole call, worker start-up and curve initialisation included. */
  totalMs: number;
};

export class ProveError extends Error {
  override name = 'ProveError';
}

/** Proves from .zkey and .wtns bytes (snarkjs formats) in worker threads. */
export async function prove(
  zkey: Uint8Array,
  wtns: Uint8Array,
  opts: ProveOptions = {},
): Promise<ProveResult> {
  const t0 = performance.now();
  const report = (stage: ProveProgress['stage'], message: string) =>
    opts.onProgress?.({ stage, message, elapsedMs: performance.now() - t0 });
  const { signal } = opts;
  if (signal?.aborted) throw signal.reason;
  report('start', 'proving in worker threads');
  try {
    const res = await groth16Prove(zkey, wtns, { signal, onStep: (m) => report('step', m) });
    const proveMs = res.phases.total - res.phases.setup;
    report('end', `proof generated in ${proveMs.toFixed(0)} ms`);
    return {
      proof: res.proof,
      publicSignals: res.publicSignals,
      proveMs,
      totalMs: performance.now() - t0,
    };
  } catch (e) {
    if (signal?.aborted && e === signal.reason) throw e;
    throw new ProveError(`proving failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}
