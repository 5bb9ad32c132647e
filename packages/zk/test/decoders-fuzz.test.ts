// Seeded fuzzing of the zk decoders that read bytes from transactions (binary proofs, on-chain
// proof points, verification keys) and proof JSON: every failure is a ProofFormatError, never a
// RangeError or TypeError, and none depends on the stack size. No trusted setup is needed: the
// decoders check format and curve membership only, so generator points make valid encodings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mutate, runWithStack, SeededRng } from '../../../test-support/fuzz.ts';
import { decodeProofPoints } from '../src/onchain.ts';
import {
  decodeProof,
  decodeVerificationKey,
  encodeProof,
  encodeVerificationKey,
  type ProofArtifact,
  ProofFormatError,
  proofFromJson,
  proofToJson,
  type VerificationKey,
} from '../src/proof.ts';

const PROOF_TS = new URL('../src/proof.ts', import.meta.url).href;

const G1 = ['1', '2', '1'];
const G2 = [
  [
    '10857046999023057135944570762232829481370756359578518086990519993285655852781',
    '11559732032986387107991004021392285783925812861821192530917403151452391805634',
  ],
  [
    '8495653923123431417604973247489272438418190587263600148770280649306958101930',
    '4082367875863433681332203403145435568316851327593401208105741076214120093531',
  ],
  ['1', '0'],
];
const artifact = {
  proof: { pi_a: G1, pi_b: G2, pi_c: G1, protocol: 'groth16', curve: 'bn128' },
  publicSignals: ['1', '2', '3'],
} as unknown as ProofArtifact;
const vk = {
  protocol: 'groth16',
  curve: 'bn128',
  nPublic: 3,
  vk_alpha_1: G1,
  vk_beta_2: G2,
  vk_gamma_2: G2,
  vk_delta_2: G2,
  IC: [G1, G1, G1, G1],
} as unknown as VerificationKey;

function outcome(f: () => unknown): 'accepted' | 'ProofFormatError' {
  try {
    f();
    return 'accepted';
  } catch (err) {
    if (err instanceof ProofFormatError) return 'ProofFormatError';
    throw err;
  }
}

function fuzz(valid: Uint8Array, decode: (b: Uint8Array) => unknown, seed: number, n: number): number {
  const rng = new SeededRng(seed);
  let refused = 0;
  for (let i = 0; i < n; i++) if (outcome(() => decode(mutate(valid, rng).bytes)) !== 'accepted') refused++;
  return refused;
}

describe('zk decoders are bounded and typed', () => {
  it('fuzz: binary proofs, proof points and verification keys fail only with ProofFormatError', () => {
    const proof = encodeProof(artifact);
    assert.deepEqual(decodeProof(proof).publicSignals, ['1', '2', '3']);
    const points = proof.subarray(8, 8 + 256);
    assert.deepEqual(decodeProofPoints(points).pi_a, G1);
    const key = encodeVerificationKey(vk);
    assert.equal(decodeVerificationKey(key).nPublic, 3);
    // Most mutations break a curve equation, a length or the magic; a few only touch a public
    // signal (still valid), so "most" is the honest bound.
    assert.ok(fuzz(proof, decodeProof, 1, 3_000) > 2_000);
    assert.ok(fuzz(points, decodeProofPoints, 2, 3_000) > 2_000);
    assert.ok(fuzz(key, decodeVerificationKey, 3, 3_000) > 2_000);
    // A header declaring 2^32 - 1 signals (or keys) in a short buffer allocates nothing.
    const lying = proof.slice();
    lying.set([0xff, 0xff, 0xff, 0xff], 4);
    assert.equal(
      outcome(() => decodeProof(lying)),
      'ProofFormatError',
    );
    const lyingKey = key.slice();
    lyingKey.set([0xff, 0xff, 0xff, 0xff], 4);
    assert.equal(
      outcome(() => decodeVerificationKey(lyingKey)),
      'ProofFormatError',
    );
    const rng = new SeededRng(4);
    for (let n = 0; n < 400; n++) {
      assert.equal(
        outcome(() => decodeProof(rng.bytes(n))),
        'ProofFormatError',
      );
      assert.equal(
        outcome(() => decodeVerificationKey(rng.bytes(n))),
        'ProofFormatError',
      );
    }
  });

  it('fuzz: proof JSON fails only with ProofFormatError, deep or huge input included', () => {
    const json = proofToJson(artifact);
    assert.deepEqual(proofFromJson(json).publicSignals, ['1', '2', '3']);
    const text = new TextEncoder().encode(json);
    const rng = new SeededRng(5);
    let refused = 0;
    for (let i = 0; i < 3_000; i++) {
      const bytes = mutate(text, rng).bytes;
      if (outcome(() => proofFromJson(new TextDecoder().decode(bytes))) !== 'accepted') refused++;
    }
    assert.ok(refused > 2_000, `${refused} refused`);
    const deep = `{"proof":${'['.repeat(100_000)}${']'.repeat(100_000)},"publicSignals":[]}`;
    assert.equal(
      outcome(() => proofFromJson(deep)),
      'ProofFormatError',
    );
    const deepSignal = {
      ...artifact,
      publicSignals: [JSON.parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)],
    };
    assert.equal(
      outcome(() => proofFromJson(deepSignal)),
      'ProofFormatError',
    );
    // A megabyte of digits is refused by its length, before BigInt() spends quadratic time on it.
    const t0 = performance.now();
    assert.equal(
      outcome(() => proofFromJson({ ...artifact, publicSignals: ['9'.repeat(1 << 20)] })),
      'ProofFormatError',
    );
    assert.ok(performance.now() - t0 < 100);
    const wrongTypes = [null, 1, 'x', [], { proof: null }, { proof: {}, publicSignals: {} }];
    for (const v of wrongTypes)
      assert.equal(
        outcome(() => proofFromJson(v)),
        'ProofFormatError',
      );
  });

  it('gives the same verdict on 100,000-deep proof JSON under --stack-size=100', () => {
    const out = runWithStack(`
      import { proofFromJson } from '${PROOF_TS}';
      const deep = '{"proof":' + '['.repeat(100000) + ']'.repeat(100000) + ',"publicSignals":[]}';
      try { proofFromJson(deep); console.log('accepted'); } catch (e) { console.log(e.name); }
    `);
    assert.equal(out, 'ProofFormatError');
  });
});
