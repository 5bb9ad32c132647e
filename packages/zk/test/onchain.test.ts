// The chain's proof forms: 256-byte proof points and binary verification keys round-trip, decode
// strictly, and still verify; public signals rebuilt from input and output equal the witness's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runInt } from '@aivm/runtime';
import * as snarkjs from 'snarkjs';
import { decodeProofPoints, encodeProofPoints, PROOF_POINTS_BYTES, zkPublicSignals } from '../src/onchain.ts';
import { commitInputs } from '../src/poseidon.ts';
import {
  binaryVerificationKeySize,
  decodeVerificationKey,
  encodeVerificationKey,
  ProofFormatError,
  verificationKeyHash,
} from '../src/proof.ts';
import { BN254_R } from '../src/r1cs.ts';
import { type TinySetup, terminateCurve, tinyModel, tinySetup } from './helpers/tiny.ts';

let t: TinySetup;
before(async () => {
  t = await tinySetup();
});
after(terminateCurve);

const isFormat = (e: unknown) => e instanceof ProofFormatError;

describe('proof points', () => {
  it('round-trip and still verify against the rebuilt public signals', async () => {
    const bytes = encodeProofPoints(t.proof);
    assert.equal(bytes.length, PROOF_POINTS_BYTES);
    const back = decodeProofPoints(bytes);
    assert.deepEqual(encodeProofPoints(back), bytes);
    assert.equal(await snarkjs.groth16.verify(t.vk as never, t.publicSignals, back), true);
  });

  it('refuse wrong lengths, out-of-field words and points off the curve', () => {
    const bytes = encodeProofPoints(t.proof);
    assert.throws(() => decodeProofPoints(bytes.subarray(1)), isFormat);
    const big = bytes.slice();
    big.fill(0xff, 0, 32);
    assert.throws(() => decodeProofPoints(big), isFormat);
    const off = bytes.slice();
    off[63] ^= 1; // A.y changes by one
    assert.throws(() => decodeProofPoints(off), /not on the curve/);
  });
});

describe('verification keys', () => {
  it('round-trip in binary, hash stably and verify', async () => {
    const bytes = encodeVerificationKey(t.vk);
    assert.equal(bytes.length, binaryVerificationKeySize(t.vk.nPublic));
    const back = decodeVerificationKey(bytes);
    assert.deepEqual(encodeVerificationKey(back), bytes);
    assert.deepEqual(verificationKeyHash(back), verificationKeyHash(bytes));
    assert.equal(await snarkjs.groth16.verify(back as never, t.publicSignals, t.proof), true);
  });

  it('refuse truncated keys, a wrong count and points off the curve', () => {
    const bytes = encodeVerificationKey(t.vk);
    assert.throws(() => decodeVerificationKey(bytes.subarray(0, bytes.length - 32)), isFormat);
    const count = bytes.slice();
    count[7] += 1;
    assert.throws(() => decodeVerificationKey(count), isFormat);
    const off = bytes.slice();
    off[8 + 63] ^= 1; // alpha.y
    assert.throws(() => decodeVerificationKey(off), /not a curve point/);
    const magic = bytes.slice();
    magic[0] = 0;
    assert.throws(() => decodeVerificationKey(magic), /not a binary verification key/);
  });
});

describe('public signals', () => {
  it('rebuilt from the input and output equal the witness of a public-input circuit', () => {
    const { model, x } = tinyModel();
    const run = runInt(model, { x }, { trace: true });
    const input = run.trace!.get(model.inputs[0]!)!.data;
    const output = run.outputs[model.outputs[0]!]!.data;
    assert.deepEqual(zkPublicSignals({ output, input, inputs: 'public' }), t.publicSignals);
  });

  it('commit the input and append the weight commitment in that order', () => {
    const s = zkPublicSignals({
      output: [-1, 2],
      input: [3, -4, 5],
      inputs: 'committed',
      weightCommitment: 77n,
    });
    assert.deepEqual(s, [(BN254_R - 1n).toString(), '2', commitInputs([3, -4, 5]).toString(), '77']);
    assert.throws(
      () => zkPublicSignals({ output: [1], input: [1], inputs: 'public', weightCommitment: BN254_R }),
      isFormat,
    );
  });
});
