// compile(model, { inputs: 'committed' }): the model inputs are private (range-checked) wires and
// the single public input signal is commitInputs(input elements); the public signals are the
// outputs then the commitment. Tiny MLP of circuit.test.ts, plus the MNIST MLP's constraint count.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { importOnnx, quantize, runInt } from '@aivm/runtime';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { compile, firstViolation, fmod, witnessFromTrace } from '../src/index.ts';
import { commitInputs } from '../src/poseidon.ts';
import { tinyModel } from './helpers/tiny.ts';

describe("compile(model, { inputs: 'committed' }) on the tiny MLP", () => {
  const { model, x } = tinyModel();
  const circuit = compile(model, { inputs: 'committed' });
  const run = runInt(model, { x }, { trace: true });
  const trace = run.trace as NonNullable<typeof run.trace>;
  const xq = trace.get('x')?.data as Int8Array;
  const w = witnessFromTrace(circuit, trace);
  const r1 = circuit.r1cs;

  it('has outputs then one commitment as public signals; the honest witness satisfies', () => {
    assert.equal(r1.nOutputs, 3);
    assert.equal(r1.nPubInputs, 1);
    assert.deepEqual(circuit.publicInputs, []);
    assert.deepEqual(circuit.committedInputs, [{ name: 'x', shape: [1, 8] }]);
    assert.equal(w.publicSignals.length, 4);
    assert.equal(firstViolation(r1, w.wires), -1);
    const y = trace.get('y')?.data as Int8Array;
    assert.deepEqual(
      w.publicSignals.slice(0, 3),
      [...y].map((v) => fmod(BigInt(v))),
    );
  });

  it('the public commitment equals commitInputs of the quantized input', () => {
    assert.equal(w.publicSignals[3], commitInputs([...xq].map(BigInt)));
    // The public default is unchanged.
    const pub = compile(model).r1cs;
    assert.equal(pub.nPubInputs, 8);
    assert.equal(r1.constraints.length > pub.constraints.length, true);
  });

  it('changing one input pixel changes the commitment or violates a constraint', () => {
    const inputWires = r1.labels.flatMap((l, i) => (/^x\[\d+\]$/.test(l) ? [i] : []));
    assert.equal(inputWires.length, 8);
    for (const wire of inputWires)
      for (const d of [1n, -1n]) {
        const bad = w.wires.slice();
        bad[wire] = fmod(bad[wire] + d);
        assert.notEqual(firstViolation(r1, bad), -1, `${r1.labels[wire]} ${d}`);
      }
    // A different (in-range) input gives a different commitment.
    const changed = [...xq].map(BigInt);
    changed[0] = changed[0] === 127n ? 126n : changed[0] + 1n;
    assert.notEqual(commitInputs(changed), w.publicSignals[3]);
  });
});

describe("MNIST MLP with inputs: 'committed'", () => {
  it('compiles, a test digit satisfies it, and prints the constraint count', () => {
    const graph = importOnnx(
      new Uint8Array(readFileSync(new URL('../../runtime/models/mnist-mlp.onnx', import.meta.url))),
    );
    const { train, test } = loadMnistSplit();
    const input = graph.inputs[0].name;
    const model = quantize(graph, [
      { [input]: { dtype: 'float32', shape: [200, 784], data: imageBatch(train, 0, 200) } },
    ]);
    const t0 = performance.now();
    const circuit = compile(model, { inputs: 'committed' });
    const ms = performance.now() - t0;
    const r = circuit.r1cs;
    const pub = compile(model).r1cs.constraints.length;
    console.log(
      `MNIST MLP committed inputs: ${r.constraints.length} constraints (public inputs: ${pub}), ${r.nOutputs} outputs + ${r.nPubInputs} commitment, compiled in ${ms.toFixed(0)} ms`,
    );
    for (const n of circuit.constraintsByNode) console.log(`  ${n.node} (${n.kernel}): ${n.constraints}`);
    const run = runInt(
      model,
      { [input]: { dtype: 'float32', shape: [1, 784], data: imageBatch(test, 0, 1) } },
      { trace: true },
    );
    const trace = run.trace as NonNullable<typeof run.trace>;
    const t1 = performance.now();
    const w = witnessFromTrace(circuit, trace);
    console.log(`  witness in ${(performance.now() - t1).toFixed(0)} ms`);
    assert.equal(w.publicSignals.length, 11);
    const xq = trace.get(input)?.data as Int8Array;
    assert.equal(w.publicSignals[10], commitInputs([...xq].map(BigInt)));
  });
});
