// The forms a chain needs: a Groth16 proof as its 256 bytes of points (the chain rebuilds the
// public signals itself, so they are never sent), and those public signals from a request's
// input and a claimed output, in the Circuit layout of compile.ts. Browser-safe.

import { commitInputs } from './poseidon.ts';
import { decodeProof, encodeProof, type Groth16Proof, ProofFormatError } from './proof.ts';
import { BN254_R, fmod } from './r1cs.ts';

export const PROOF_POINTS_BYTES = 256;

/** A, B, C as 8 big-endian 32-byte words (A.x, A.y, B.x.c0, B.x.c1, B.y.c0, B.y.c1, C.x, C.y). */
export function encodeProofPoints(proof: Groth16Proof): Uint8Array {
  return encodeProof({ proof, publicSignals: [] }).slice(8);
}

/** Strict inverse of encodeProofPoints: field ranges and curve membership are checked. */
export function decodeProofPoints(bytes: Uint8Array): Groth16Proof {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PROOF_POINTS_BYTES)
    throw new ProofFormatError(`proof points are ${PROOF_POINTS_BYTES} bytes`);
  const framed = new Uint8Array(8 + PROOF_POINTS_BYTES);
  framed.set([0x61, 0x7a, 0x6b, 0x01], 0);
  framed.set(bytes, 8);
  return decodeProof(framed).proof;
}

export type PublicSignalsInput = {
  /** The claimed output, every element (row-major). */
  output: ArrayLike<number>;
  /** The request's quantized input, every element (row-major). */
  input: ArrayLike<number>;
  /** How the circuit takes its input: every element public, or one Poseidon commitment. */
  inputs: 'public' | 'committed';
  /** Private-weights circuits: the model's published weight commitment. */
  weightCommitment?: bigint;
};

/** Public signals (decimal strings) of a single-input, single-output model's circuit. */
export function zkPublicSignals(p: PublicSignalsInput): string[] {
  const field = (v: number) => fmod(BigInt(v)).toString();
  const out = Array.from(p.output, field);
  if (p.inputs === 'public') out.push(...Array.from(p.input, field));
  else out.push(commitInputs(Array.from(p.input)).toString());
  if (p.weightCommitment !== undefined) {
    if (p.weightCommitment < 0n || p.weightCommitment >= BN254_R)
      throw new ProofFormatError('the weight commitment is not a field element');
    out.push(p.weightCommitment.toString());
  }
  return out;
}
