// The exported Solidity verifier of the tiny circuit, compiled with solc-js and deployed on a real
// EVM (@ethereumjs/vm, signed legacy transactions): an honest proof returns true, tampered proofs
// or public signals return false (the snarkjs template returns false, it does not revert), and the
// gas of the whole verifying transaction is measured.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLegacyTx } from '@ethereumjs/tx';
import { Account, type Address, createAddressFromPrivateKey } from '@ethereumjs/util';
import { createVM, runTx, type VM } from '@ethereumjs/vm';
import {
  encodeVerifyProofCalldata,
  type ProofArtifact,
  toSolidityArgs,
  verifyProofSelector,
} from '../src/proof.ts';
import {
  type CompiledVerifier,
  compileVerifier,
  exportSolidityVerifier,
  VerifierError,
} from '../src/verifier.ts';
import { type TinySetup, terminateCurve, tinySetup } from './helpers/tiny.ts';

let t: TinySetup;
let art: ProofArtifact;
let source: string;
let compiled: CompiledVerifier;
before(async () => {
  t = await tinySetup();
  art = { proof: t.proof, publicSignals: t.publicSignals };
});
after(terminateCurve);

const pk = new Uint8Array(32).fill(7);
const sender = createAddressFromPrivateKey(pk);

async function chain(): Promise<{ vm: VM; send(data: Uint8Array, to?: Address): ReturnType<typeof runTx> }> {
  const vm = await createVM();
  await vm.stateManager.putAccount(sender, new Account(0n, 10n ** 21n));
  let nonce = 0n;
  return {
    vm,
    async send(data, to) {
      const tx = createLegacyTx({
        nonce: nonce++,
        gasPrice: 10n ** 9n,
        gasLimit: 30_000_000n,
        to,
        data,
      }).sign(pk);
      return runTx(vm, { tx, skipBlockGasLimitValidation: true });
    },
  };
}

const word = (b: Uint8Array) => (b.length === 32 ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : -1n);

describe('Solidity verifier on @ethereumjs/vm', () => {
  it('exports the same source from the .zkey (snarkjs) and from the verification key JSON', async () => {
    source = await exportSolidityVerifier(t.zkey);
    const fromVk = await exportSolidityVerifier(t.vk);
    assert.equal(fromVk, source);
    assert.match(source, /uint\[11\] calldata _pubSignals/);
    await assert.rejects(exportSolidityVerifier({ ...t.vk, IC: t.vk.IC.slice(1) }), VerifierError);
  });

  it('compiles with solc-js; the selector matches ours', () => {
    const t0 = performance.now();
    compiled = compileVerifier(source);
    const ms = performance.now() - t0;
    const sel = compiled.methodIdentifiers['verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[11])'];
    assert.equal(sel, Buffer.from(verifyProofSelector(11)).toString('hex'));
    assert.throws(() => compileVerifier('contract X { function f( }'), VerifierError);
    console.log(
      `solc ${compiled.solcVersion}: ${ms.toFixed(0)} ms, creation ${compiled.bytecode.length} B, runtime ${compiled.deployedBytecode.length} B`,
    );
  });

  it('deploys; honest proof → true; tampered proof or signals → false (no revert)', {
    timeout: 120_000,
  }, async () => {
    const { send } = await chain();
    const dep = await send(compiled.bytecode);
    assert.equal(dep.execResult.exceptionError, undefined);
    const addr = dep.createdAddress as Address;
    assert.ok(addr);

    const call = async (a: ProofArtifact | Uint8Array) => {
      const data = a instanceof Uint8Array ? a : encodeVerifyProofCalldata(a);
      const r = await send(data, addr);
      return {
        ok: word(r.execResult.returnValue),
        reverted: r.execResult.exceptionError !== undefined,
        gas: r.totalGasSpent,
      };
    };
    const honest = await call(art);
    assert.deepEqual([honest.ok, honest.reverted], [1n, false]);

    const tampered: Record<string, ProofArtifact | Uint8Array> = {};
    const out = art.publicSignals.slice();
    out[0] = (BigInt(out[0]) + 1n).toString();
    tampered['output +1'] = { ...art, publicSignals: out };
    const inp = art.publicSignals.slice();
    inp[5] = (BigInt(inp[5]) - 1n).toString();
    tampered['input -1'] = { ...art, publicSignals: inp };
    tampered['A replaced by C'] = { ...art, proof: { ...art.proof, pi_a: art.proof.pi_c } };
    const data = encodeVerifyProofCalldata(art);
    const flipped = data.slice();
    flipped[4 + 32 * 2 + 31] ^= 1; // b[0][0] low bit: B off the curve
    tampered['B off curve'] = flipped;
    const big = data.slice();
    big.fill(0xff, 4 + 32 * 8, 4 + 32 * 9); // first public signal ≥ r
    tampered['signal ≥ r'] = big;
    for (const [what, a] of Object.entries(tampered)) {
      const r = await call(a);
      assert.equal(r.ok, 0n, what);
      assert.equal(r.reverted, false, what);
    }
    const args = toSolidityArgs(art);
    console.log(
      `deploy ${dep.totalGasSpent} gas; verifyProof tx (${args.input.length} public signals, ${data.length} B calldata): ${honest.gas} gas`,
    );
    assert.ok(honest.gas < 300_000n, `${honest.gas} gas`);
  });
});
