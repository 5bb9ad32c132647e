// Groth16 verification of a proof artifact against a verification key, and releasing the curve's
// worker threads so a command-line process can exit. The check is snarkjs.groth16.verify's, with
// the key prepared once and cached (verify-groth16.ts); same accept/reject, a few times faster.

import { checkProof, type ProofArtifact, type VerificationKey } from './proof.ts';
import { groth16Verify } from './verify-groth16.ts';

export async function verifyProof(vk: VerificationKey, artifact: ProofArtifact): Promise<boolean> {
  checkProof(artifact);
  return groth16Verify(vk, artifact.publicSignals, artifact.proof);
}

/** snarkjs keeps a BN254 context (with worker threads) in a global; end it when done. */
export async function releaseCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  g.curve_bn128 = undefined;
}
