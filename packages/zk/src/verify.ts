// Groth16 verification of a proof artifact against a verification key (snarkjs), and releasing
// the curve's worker threads so a command-line process can exit.

import * as snarkjs from 'snarkjs';
import { checkProof, type ProofArtifact, type VerificationKey } from './proof.ts';

export async function verifyProof(vk: VerificationKey, artifact: ProofArtifact): Promise<boolean> {
  checkProof(artifact);
  return snarkjs.groth16.verify(vk as never, artifact.publicSignals, artifact.proof);
}

/** snarkjs keeps a BN254 context (with worker threads) in a global; end it when done. */
export async function releaseCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  g.curve_bn128 = undefined;
}
