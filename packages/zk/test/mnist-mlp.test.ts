// The MNIST MLP of the runtime compiles (public weights) and the runtime's trace of real digits
// satisfies its circuit. Prints the constraint count per node.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { importOnnx, quantize, runInt } from '@aivm/runtime';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { compile, witnessFromTrace } from '../src/index.ts';

describe('MNIST MLP circuit', () => {
  it('compiles and the traces of test digits satisfy it', () => {
    const graph = importOnnx(
      new Uint8Array(readFileSync(new URL('../../runtime/models/mnist-mlp.onnx', import.meta.url))),
    );
    const { train, test } = loadMnistSplit();
    const input = graph.inputs[0].name;
    const model = quantize(graph, [
      { [input]: { dtype: 'float32', shape: [200, 784], data: imageBatch(train, 0, 200) } },
    ]);
    const t0 = performance.now();
    const circuit = compile(model);
    const ms = performance.now() - t0;
    const r = circuit.r1cs;
    console.log(
      `MNIST MLP: ${r.constraints.length} constraints, ${r.nWires} wires, ${r.nOutputs} public outputs, ${r.nPubInputs} public inputs, compiled in ${ms.toFixed(0)} ms`,
    );
    for (const n of circuit.constraintsByNode) console.log(`  ${n.node} (${n.kernel}): ${n.constraints}`);
    const noInputChecks = compile(model, { rangeCheckInputs: false }).r1cs.constraints.length;
    console.log(`  without in-circuit input range checks: ${noInputChecks}`);
    for (let i = 0; i < 3; i++) {
      const run = runInt(
        model,
        { [input]: { dtype: 'float32', shape: [1, 784], data: imageBatch(test, i, 1) } },
        { trace: true },
      );
      const w = witnessFromTrace(circuit, run.trace as NonNullable<typeof run.trace>);
      assert.equal(w.publicSignals.length, 10 + 784);
    }
  });
});
