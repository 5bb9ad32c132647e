// Proof artifacts: JSON and binary round trips, strict decoding (typed errors on garbage), EVM
// calldata equal to snarkjs' exportSolidityCallData, and Keccak-256 against known vectors.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as snarkjs from 'snarkjs';
import {
  binaryProofSize,
  checkProof,
  decodeProof,
  encodeProof,
  encodeVerifyProofCalldata,
  exportSolidityCallData,
  keccak256,
  type ProofArtifact,
  ProofFormatError,
  proofFromJson,
  proofToJson,
  toSolidityArgs,
  verifyProofSelector,
} from '../src/proof.ts';
import { type TinySetup, terminateCurve, tinySetup } from './helpers/tiny.ts';

let t: TinySetup;
let art: ProofArtifact;
before(async () => {
  t = await tinySetup();
  art = { proof: t.proof, publicSignals: t.publicSignals };
});
after(terminateCurve);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const isFormat = (re: RegExp) => (e: unknown) =>
  e instanceof ProofFormatError && re.test((e as Error).message);

describe('proof artifacts', () => {
  it('keccak256 matches known vectors', () => {
    assert.equal(
      hex(keccak256(new Uint8Array())),
      'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    );
    assert.equal(
      hex(keccak256(new TextEncoder().encode('transfer(address,uint256)'))).slice(0, 8),
      'a9059cbb',
    );
    // Longer than one 136-byte block.
    assert.equal(
      hex(keccak256(new Uint8Array(200).fill(0x61))),
      hex(keccak256(new Uint8Array(200).fill(0x61))),
    );
  });

  it('JSON round trip keeps a proof that snarkjs verifies', async () => {
    const json = proofToJson(art);
    const back = proofFromJson(json);
    assert.deepEqual(back.publicSignals, t.publicSignals);
    assert.deepEqual(back.proof.pi_a, t.proof.pi_a);
    assert.deepEqual(back.proof.pi_b, t.proof.pi_b);
    assert.deepEqual(back.proof.pi_c, t.proof.pi_c);
    assert.equal(await snarkjs.groth16.verify(t.vk, back.publicSignals, back.proof), true);
    console.log(`JSON: ${json.length} bytes (${t.publicSignals.length} public signals)`);
  });

  it('binary round trip: 264 + 32·N bytes, verifies after decoding', async () => {
    const bin = encodeProof(art);
    assert.equal(bin.length, binaryProofSize(t.publicSignals.length));
    assert.equal(bin.length, 264 + 32 * 11);
    const back = decodeProof(bin);
    assert.deepEqual(back, checkProof(art));
    assert.equal(await snarkjs.groth16.verify(t.vk, back.publicSignals, back.proof), true);
    assert.deepEqual(encodeProof(back), bin);
    console.log(`binary: ${bin.length} bytes (256 for the points)`);
  });

  it('decoding garbage throws ProofFormatError with a clear message', () => {
    const bin = encodeProof(art);
    assert.throws(() => decodeProof(bin.subarray(0, 100)), isFormat(/at least 264/));
    assert.throws(
      () => decodeProof(bin.subarray(0, bin.length - 1)),
      isFormat(/expected for 11 public signals/),
    );
    assert.throws(() => decodeProof(new Uint8Array([...bin, 0])), isFormat(/expected/));
    const magic = bin.slice();
    magic[3] = 2;
    assert.throws(() => decodeProof(magic), isFormat(/magic/));
    const big = bin.slice();
    big.fill(0xff, 8, 40);
    assert.throws(() => decodeProof(big), isFormat(/A\.x is not a base-field element/));
    const off = bin.slice();
    off[71] ^= 1; // A.y low bit
    assert.throws(() => decodeProof(off), isFormat(/A is not on the curve/));
    const offB = bin.slice();
    offB[8 + 64 + 31] ^= 1;
    assert.throws(() => decodeProof(offB), isFormat(/B is not on the twist/));
    const sig = bin.slice();
    sig.fill(0xff, 264, 296);
    assert.throws(() => decodeProof(sig), isFormat(/public signal 0/));
    const rnd = new Uint8Array(264 + 32 * 3);
    for (let i = 0; i < rnd.length; i++) rnd[i] = (i * 151 + 7) & 0xff;
    assert.throws(() => decodeProof(rnd), ProofFormatError);
  });

  it('JSON garbage throws ProofFormatError', () => {
    assert.throws(() => proofFromJson('{nope'), isFormat(/does not parse/));
    assert.throws(() => proofFromJson('null'), isFormat(/not a proof/));
    assert.throws(
      () => proofFromJson({ proof: { ...t.proof, pi_a: ['1', '2'] }, publicSignals: [] }),
      isFormat(/pi_a/),
    );
    assert.throws(
      () => proofFromJson({ proof: { ...t.proof, pi_a: ['1', '3', '1'] }, publicSignals: [] }),
      isFormat(/pi_a is not on the curve/),
    );
    assert.throws(
      () => proofFromJson({ proof: t.proof, publicSignals: ['-1'] }),
      isFormat(/publicSignals\[0\] is out of range/),
    );
    assert.throws(() => proofFromJson({ proof: t.proof, publicSignals: ['x1'] }), isFormat(/not an integer/));
    assert.throws(
      () => proofFromJson({ proof: { ...t.proof, protocol: 'plonk' }, publicSignals: [] }),
      isFormat(/groth16/),
    );
  });

  it('calldata equals snarkjs exportSolidityCallData (G2 coordinates swapped)', async () => {
    const ours = exportSolidityCallData(art);
    const theirs = await (
      snarkjs as unknown as { groth16: { exportSolidityCallData(p: unknown, s: string[]): Promise<string> } }
    ).groth16.exportSolidityCallData(t.proof, t.publicSignals);
    assert.equal(ours, theirs);
    const args = toSolidityArgs(art);
    assert.equal(args.b[0][0], BigInt(t.proof.pi_b[0][1]));
    const data = encodeVerifyProofCalldata(art);
    assert.equal(data.length, 4 + 32 * (8 + 11));
    assert.deepEqual(data.subarray(0, 4), verifyProofSelector(11));
    // The word after a, b (6 words) is c.x.
    assert.equal(BigInt(`0x${hex(data.subarray(4 + 32 * 6, 4 + 32 * 7))}`), BigInt(t.proof.pi_c[0]));
  });
});
