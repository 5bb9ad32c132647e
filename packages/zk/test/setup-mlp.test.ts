// Development setup on the MNIST MLP circuit (public weights): the < 60 s goal on this 2-core
// machine, the same key bytes as the implementation before the wasm-comb rewrite, then a Groth16
// proof of a real digit from the runtime's trace verifies. Prints timings.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { importOnnx, quantize, runInt } from '@aivm/runtime';
import * as snarkjs from 'snarkjs';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { compile, fmod, witnessFromTrace, writeR1cs, writeWtns } from '../src/index.ts';
import { devSetup, domainPower, readR1csInfo } from '../src/setup.ts';

const quiet = { warn() {}, info() {}, error() {}, debug() {} };
after(async () => {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
});

describe('MNIST MLP development setup', () => {
  it('sets up in under 60 s; a proof of a test digit verifies', { timeout: 300_000 }, async () => {
    const graph = importOnnx(
      new Uint8Array(readFileSync(new URL('../../runtime/models/mnist-mlp.onnx', import.meta.url))),
    );
    const { train, test } = loadMnistSplit();
    const input = graph.inputs[0].name;
    const model = quantize(graph, [
      { [input]: { dtype: 'float32', shape: [200, 784], data: imageBatch(train, 0, 200) } },
    ]);
    // Unfused (the circuit the fixture key below was written for; fusing the ReLU is newer).
    const circuit = compile(model, { fuseRelu: false });
    const r1csBytes = writeR1cs(circuit.r1cs);
    const info = readR1csInfo(r1csBytes);
    const kp = await devSetup(r1csBytes, 'mnist-mlp');
    console.log(
      `MNIST MLP: ${info.nConstraints} constraints, ${info.nVars} wires, domain 2^${domainPower(info)}, dev setup ${(kp.ms / 1000).toFixed(1)} s (field ${(kp.timings.fieldMs / 1000).toFixed(1)} s, then curve ${(kp.timings.curveMs / 1000).toFixed(1)} s on ${kp.timings.threads} threads), zkey ${(kp.zkey.length / 1e6).toFixed(1)} MB`,
    );
    // sha256 of the key the previous implementation (bigint field part, 8-bit comb as ffjavascript
    // task lists) wrote for this circuit and seed.
    assert.equal(
      createHash('sha256').update(kp.zkey).digest('hex'),
      '692ea20be5f44fbda3d2ce0fd24f3a43c8d04f6680b545d9efb4f5d04694578d',
    );
    const run = runInt(
      model,
      { [input]: { dtype: 'float32', shape: [1, 784], data: imageBatch(test, 0, 1) } },
      { trace: true },
    );
    const w = witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>);
    const zkey = { type: 'mem', data: kp.zkey } as never;
    const wt = writeWtns(w.wires);
    let t = performance.now();
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wt, quiet);
    const proveMs = performance.now() - t;
    t = performance.now();
    assert.equal(await snarkjs.groth16.verify(kp.vk, publicSignals, proof, quiet), true);
    const verifyMs = performance.now() - t;
    t = performance.now();
    assert.equal(await snarkjs.groth16.verify(kp.vk, publicSignals, proof, quiet), true);
    const verify2Ms = performance.now() - t;
    console.log(
      `  prove ${(proveMs / 1000).toFixed(2)} s, verify ${verifyMs.toFixed(0)} ms (first), ${verify2Ms.toFixed(0)} ms (warm)`,
    );
    const bad = publicSignals.slice();
    bad[0] = fmod(BigInt(bad[0]) + 1n).toString();
    assert.equal(await snarkjs.groth16.verify(kp.vk, bad, proof, quiet), false);
  });
});
