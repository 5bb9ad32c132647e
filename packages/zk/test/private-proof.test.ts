// Groth16 with private weights on the tiny MLP (inputs committed): ONE development key serves every
// W of the architecture; a proof verifies only with the commitment of the weights it was made with;
// the exported Solidity verifier on a real EVM (@ethereumjs/vm) accepts the honest proof, returns
// false for a tampered commitment, output or proof point (snarkjs' template returns false rather
// than reverting), and the verifying transaction's gas is reported.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type QuantModel, runInt } from '@aivm/runtime';
import { createLegacyTx } from '@ethereumjs/tx';
import { Account, type Address, createAddressFromPrivateKey } from '@ethereumjs/util';
import { createVM, runTx } from '@ethereumjs/vm';
import * as snarkjs from 'snarkjs';
import {
  compile,
  encodeVerifyProofCalldata,
  type ProofArtifact,
  type VerificationKey,
  weightCommitment,
  witnessFromTrace,
  writeR1cs,
  writeWtns,
} from '../src/index.ts';
import { compileVerifier, devSetup, exportSolidityVerifier, verifyProof } from '../src/node.ts';
import { terminateCurve, tinyModel } from './helpers/tiny.ts';

const quiet = { warn() {}, info() {}, error() {}, debug() {} };
const { model, x } = tinyModel();
const other = structuredClone(model);
const w0 = other.nodes[0].params.weight as Int8Array;
w0[0] += w0[0] > 0 ? -1 : 1;

const opts = { weights: 'private', inputs: 'committed' } as const;
let vk: VerificationKey;
let zkey: Uint8Array;
let proofW: ProofArtifact;
let proofOther: ProofArtifact;

async function proveWith(m: QuantModel): Promise<ProofArtifact> {
  const circuit = compile(m, opts);
  const run = runInt(m, { x }, { trace: true });
  const w = witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>);
  const r = await snarkjs.groth16.prove({ type: 'mem', data: zkey } as never, writeWtns(w.wires), quiet);
  return { proof: r.proof, publicSignals: r.publicSignals };
}

before(async () => {
  const kp = await devSetup(writeR1cs(compile(model, opts).r1cs), 'private-weights-test');
  vk = kp.vk as unknown as VerificationKey;
  zkey = kp.zkey;
  proofW = await proveWith(model);
  proofOther = await proveWith(other);
});
after(terminateCurve);

const withSignal = (a: ProofArtifact, i: number, v: bigint): ProofArtifact => {
  const s = a.publicSignals.slice();
  s[(i + s.length) % s.length] = v.toString();
  return { ...a, publicSignals: s };
};

describe('private weights: Groth16 proofs', () => {
  it('one key for every W; a proof verifies only with its own weight commitment', async () => {
    const wc = weightCommitment(model);
    const wc2 = weightCommitment(other);
    assert.equal(vk.nPublic, 5);
    assert.equal(proofW.publicSignals[4], wc.toString());
    assert.equal(proofOther.publicSignals[4], wc2.toString());
    assert.equal(await verifyProof(vk, proofW), true);
    assert.equal(await verifyProof(vk, proofOther), true);
    assert.equal(await verifyProof(vk, withSignal(proofW, -1, wc2)), false);
    assert.equal(await verifyProof(vk, withSignal(proofOther, -1, wc)), false);
    assert.equal(await verifyProof(vk, withSignal(proofW, -1, wc + 1n)), false);
    assert.equal(await verifyProof(vk, withSignal(proofW, 0, BigInt(proofW.publicSignals[0]) + 1n)), false);
    assert.equal(await verifyProof(vk, withSignal(proofW, 3, BigInt(proofW.publicSignals[3]) + 1n)), false);
  });

  it('the Solidity verifier on @ethereumjs/vm: honest true, tampered false, gas', {
    timeout: 120_000,
  }, async () => {
    const compiled = compileVerifier(await exportSolidityVerifier(vk));
    const vm = await createVM();
    const pk = new Uint8Array(32).fill(9);
    const sender = createAddressFromPrivateKey(pk);
    await vm.stateManager.putAccount(sender, new Account(0n, 10n ** 21n));
    let nonce = 0n;
    const send = (data: Uint8Array, to?: Address) =>
      runTx(vm, {
        tx: createLegacyTx({ nonce: nonce++, gasPrice: 10n ** 9n, gasLimit: 30_000_000n, to, data }).sign(pk),
        skipBlockGasLimitValidation: true,
      });
    const dep = await send(compiled.bytecode);
    assert.equal(dep.execResult.exceptionError, undefined);
    const addr = dep.createdAddress as Address;
    const call = async (a: ProofArtifact) => {
      const r = await send(encodeVerifyProofCalldata(a), addr);
      const ret = r.execResult.returnValue;
      return {
        ok: ret.length === 32 ? ret[31] : -1,
        reverted: r.execResult.exceptionError !== undefined,
        gas: r.totalGasSpent,
      };
    };
    const honest = await call(proofW);
    assert.deepEqual([honest.ok, honest.reverted], [1, false]);
    assert.equal((await call(proofOther)).ok, 1);
    const tampered: Record<string, ProofArtifact> = {
      'other weights’ commitment': withSignal(proofW, -1, weightCommitment(other)),
      'commitment + 1': withSignal(proofW, -1, weightCommitment(model) + 1n),
      'output + 1': withSignal(proofW, 0, BigInt(proofW.publicSignals[0]) + 1n),
      'A replaced by C': { ...proofW, proof: { ...proofW.proof, pi_a: proofW.proof.pi_c } },
    };
    for (const [what, a] of Object.entries(tampered)) {
      const r = await call(a);
      assert.deepEqual([r.ok, r.reverted], [0, false], what);
    }
    console.log(
      `private weights, inputs committed: deploy ${dep.totalGasSpent} gas; verifyProof tx (5 public signals): ${honest.gas} gas`,
    );
    assert.ok(honest.gas < 300_000n, `${honest.gas} gas`);
  });
});
