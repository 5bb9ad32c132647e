// Circuits of the CNN kernels (conv, maxpool, flatten/transpose rewiring, argmax) on tiny models:
// the runtime's trace satisfies every constraint, perturbing any private signal by ±1 violates one,
// a wrong traced value is refused; and the committed MNIST CNN compiles and its traces of test
// digits satisfy its circuit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { importOnnx, type QuantModel, type QuantTensor, quantize, runInt } from '@aivm/runtime';
import { buildGraph, floatTensor, randTensor, rng } from '../../runtime/test/quant-helpers.ts';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { type Circuit, compile, firstViolation, fmod, witnessFromTrace } from '../src/index.ts';

type Trace = Map<string, QuantTensor>;

function traceOf(model: QuantModel, inputs: Record<string, ReturnType<typeof floatTensor>>): Trace {
  return runInt(model, inputs, { trace: true }).trace as Trace;
}

/** Every private wire +1 and −1 violates a constraint that uses it; returns the mutation count. */
function mutateAll(circuit: Circuit, wires: bigint[]): number {
  const r = circuit.r1cs;
  const uses: number[][] = Array.from({ length: r.nWires }, () => []);
  r.constraints.forEach((c, i) => {
    for (const l of [c.a, c.b, c.c]) for (const s of l.keys()) if (uses[s].at(-1) !== i) uses[s].push(i);
  });
  let checked = 0;
  for (let s = 1 + r.nOutputs + r.nPubInputs; s < r.nWires; s++)
    for (const delta of [1n, -1n]) {
      const w = wires.slice();
      w[s] = fmod(w[s] + delta);
      assert.notEqual(firstViolation(r, w, uses[s]), -1, `${r.labels[s]} ${delta > 0 ? '+1' : '-1'}`);
      checked++;
    }
  return checked;
}

/** The trace with one element of `value` moved by one unit (towards 0 at the int8 edges). */
function bumped(trace: Trace, value: string, at: number): Trace {
  const t = new Map(trace);
  const v = t.get(value) as QuantTensor;
  const data = v.data.slice();
  data[at] = data[at] >= 127 ? data[at] - 1 : data[at] + 1;
  t.set(value, { ...v, data });
  return t;
}

const conv = (a: Record<string, number | number[]>) => ({
  strides: [1, 1],
  pads: [0, 0, 0, 0],
  dilations: [1, 1],
  group: 1,
  ...a,
});
const pool = (a: Record<string, number | number[]>) => ({
  strides: [1, 1],
  pads: [0, 0, 0, 0],
  dilations: [1, 1],
  ceil_mode: 0,
  ...a,
});

function kernelsOf(c: Circuit): string[] {
  return c.constraintsByNode.map((n) => n.kernel);
}

describe('circuit of a tiny CNN (Conv 1→2 3x3 pad 1, Relu, MaxPool 2x2, Flatten, Gemm → 3)', () => {
  const r = rng(11);
  const graph = buildGraph({
    inputs: { x: ['N', 1, 4, 4] },
    initializers: {
      k: randTensor([2, 1, 3, 3], r, -0.8, 0.8),
      kb: randTensor([2], r, -0.2, 0.2),
      w: randTensor([3, 8], r, -0.6, 0.6),
      wb: randTensor([3], r, -0.2, 0.2),
    },
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'k', 'kb'],
        outputs: ['c'],
        attrs: conv({ pads: [1, 1, 1, 1], kernel_shape: [3, 3] }),
      },
      { op: 'Relu', inputs: ['c'], outputs: ['h'] },
      {
        op: 'MaxPool',
        inputs: ['h'],
        outputs: ['p'],
        attrs: pool({ kernel_shape: [2, 2], strides: [2, 2] }),
      },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: { axis: 1 } },
      {
        op: 'Gemm',
        inputs: ['f', 'w', 'wb'],
        outputs: ['y'],
        attrs: { transA: 0, transB: 1, alpha: 1, beta: 1 },
      },
    ],
    outputs: ['y'],
  });
  const model = quantize(graph, [{ x: randTensor([16, 1, 4, 4], r, -1, 1) }]);
  const circuit = compile(model);
  // Beyond the calibrated range: the first of a few inputs on which the conv clamp saturates.
  let trace = traceOf(model, { x: randTensor([1, 1, 4, 4], r, -2.5, 2.5) });
  for (let i = 0; i < 100; i++) {
    if (Array.from((trace.get('c') as QuantTensor).data).some((v) => Math.abs(v) === 127)) break;
    trace = traceOf(model, { x: randTensor([1, 1, 4, 4], r, -2.5, 2.5) });
  }
  const w = witnessFromTrace(circuit, trace);

  it('the trace satisfies the circuit; conv saturates somewhere and relu has both branches', () => {
    assert.deepEqual(kernelsOf(circuit), ['range', 'conv', 'relu', 'maxpool', 'reshape', 'linear']);
    assert.equal(firstViolation(circuit.r1cs, w.wires), -1);
    const c = Array.from((trace.get('c') as QuantTensor).data);
    assert.ok(
      c.some((v) => Math.abs(v) === 127),
      'conv saturates',
    );
    assert.ok(c.some((v) => v < 0) && c.some((v) => v > 0));
    assert.deepEqual(
      w.publicSignals.slice(0, 3),
      Array.from((trace.get('y') as QuantTensor).data).map((v) => fmod(BigInt(v))),
    );
  });

  it('perturbing any private signal by one unit violates a constraint', () => {
    const n = mutateAll(circuit, w.wires);
    assert.ok(n > 500, `${n} mutations`);
    console.log(`tiny CNN: ${circuit.r1cs.constraints.length} constraints, ${n} mutations`);
  });

  it('refuses a wrong conv+ReLU output and a wrong pool output', () => {
    // The conv is fused with the ReLU that alone reads it: its rescale clamps to [0, 127] and writes
    // the ReLU's output, so the ReLU output is checked and the conv's own value is no wire.
    assert.equal(circuit.constraintsByNode.find((n) => n.kernel === 'relu')?.constraints, 0);
    for (let i = 0; i < 32; i += 5)
      assert.throws(() => witnessFromTrace(circuit, bumped(trace, 'h', i)), /violates constraint/);
    for (let i = 0; i < 8; i++)
      assert.throws(() => witnessFromTrace(circuit, bumped(trace, 'p', i)), /violates constraint/);
  });
});

describe('circuit of grouped/strided/dilated conv, padded maxpool, transpose, argmax', () => {
  const r = rng(23);
  const graph = buildGraph({
    inputs: { x: ['N', 2, 6, 6] },
    initializers: {
      k: randTensor([4, 1, 3, 2], r, -0.8, 0.8),
      kb: randTensor([4], r, -0.2, 0.2),
      w: randTensor([36, 5], r, -0.5, 0.5),
      wb: randTensor([5], r, -0.2, 0.2),
    },
    nodes: [
      {
        op: 'Conv',
        inputs: ['x', 'k', 'kb'],
        outputs: ['c'],
        attrs: conv({
          kernel_shape: [3, 2],
          group: 2,
          strides: [2, 1],
          pads: [1, 0, 2, 1],
          dilations: [2, 1],
        }),
      },
      {
        op: 'MaxPool',
        inputs: ['c'],
        outputs: ['p'],
        attrs: pool({ kernel_shape: [3, 2], strides: [1, 2], pads: [1, 1, 1, 0] }),
      },
      { op: 'Transpose', inputs: ['p'], outputs: ['t'], attrs: { perm: [0, 2, 3, 1] } },
      { op: 'Flatten', inputs: ['t'], outputs: ['f'], attrs: { axis: 1 } },
      {
        op: 'Gemm',
        inputs: ['f', 'w', 'wb'],
        outputs: ['y'],
        attrs: { transA: 0, transB: 0, alpha: 1, beta: 1 },
      },
      {
        op: 'ArgMax',
        inputs: ['y'],
        outputs: ['idx'],
        attrs: { axis: 1, keepdims: 0, select_last_index: 0 },
      },
    ],
    outputs: ['idx'],
  });
  const model = quantize(graph, [{ x: randTensor([16, 2, 6, 6], r, -1, 1) }]);
  const kernels = model.nodes.map((n) => n.kernel);

  it('quantizes to the kernels under test', () => {
    assert.ok(kernels.includes('conv') && kernels.includes('maxpool'));
    assert.ok(kernels.includes('transpose') && kernels.includes('argmax'), kernels.join(','));
  });

  it('the trace satisfies the circuit and every private ±1 violates a constraint', () => {
    const circuit = compile(model);
    for (let seed = 0; seed < 3; seed++) {
      const rr = rng(100 + seed);
      const trace = traceOf(model, { x: randTensor([1, 2, 6, 6], rr, -1.5, 1.5) });
      const w = witnessFromTrace(circuit, trace);
      assert.equal(firstViolation(circuit.r1cs, w.wires), -1);
      const n = mutateAll(circuit, w.wires);
      if (seed === 0)
        console.log(
          `conv/pool/transpose/argmax: ${circuit.r1cs.constraints.length} constraints, ${n} mutations`,
        );
      const idx = (trace.get('idx') as QuantTensor).data[0];
      const other = { ...(trace.get('idx') as QuantTensor), data: Int32Array.of((idx + 1) % 5) };
      assert.throws(() => witnessFromTrace(circuit, new Map(trace).set('idx', other)), /violates constraint/);
      assert.throws(() => witnessFromTrace(circuit, bumped(trace, 'p', 7)), /violates constraint/);
    }
  });
});

describe('argmax circuit on ties', () => {
  for (const selectLast of [0, 1]) {
    it(`picks the ${selectLast ? 'last' : 'first'} maximum, as the runtime does`, () => {
      const graph = buildGraph({
        inputs: { x: ['N', 6] },
        nodes: [
          {
            op: 'ArgMax',
            inputs: ['x'],
            outputs: ['idx'],
            attrs: { axis: 1, keepdims: 1, select_last_index: selectLast },
          },
        ],
        outputs: ['idx'],
      });
      const x = floatTensor([1, 6], [0.5, 1, -1, 1, 0.2, 1]);
      const model = quantize(graph, [{ x }]);
      const circuit = compile(model);
      const trace = traceOf(model, { x });
      const idx = trace.get('idx') as QuantTensor;
      assert.equal(idx.data[0], selectLast ? 5 : 1);
      const w = witnessFromTrace(circuit, trace);
      assert.equal(firstViolation(circuit.r1cs, w.wires), -1);
      mutateAll(circuit, w.wires);
      for (const wrong of [0, 1, 2, 3, 4, 5, 6, -1])
        if (wrong !== idx.data[0])
          assert.throws(
            () =>
              witnessFromTrace(circuit, new Map(trace).set('idx', { ...idx, data: Int32Array.of(wrong) })),
            /violates constraint/,
            `index ${wrong}`,
          );
    });
  }
});

describe('MNIST CNN circuit', () => {
  it('compiles and the traces of test digits satisfy it', () => {
    const graph = importOnnx(
      new Uint8Array(readFileSync(new URL('../../runtime/models/mnist-cnn.onnx', import.meta.url))),
    );
    const { train, test } = loadMnistSplit();
    const input = graph.inputs[0].name;
    const model = quantize(graph, [
      { [input]: { dtype: 'float32', shape: [200, 1, 28, 28], data: imageBatch(train, 0, 200) } },
    ]);
    const t0 = performance.now();
    const circuit = compile(model);
    const ms = performance.now() - t0;
    const r = circuit.r1cs;
    console.log(
      `MNIST CNN: ${r.constraints.length} constraints, ${r.nWires} wires, ${r.nOutputs} public outputs, ${r.nPubInputs} public inputs, compiled in ${ms.toFixed(0)} ms`,
    );
    for (const n of circuit.constraintsByNode) console.log(`  ${n.node} (${n.kernel}): ${n.constraints}`);
    for (let i = 0; i < 3; i++) {
      const run = runInt(
        model,
        { [input]: { dtype: 'float32', shape: [1, 1, 28, 28], data: imageBatch(test, i, 1) } },
        { trace: true },
      );
      const w = witnessFromTrace(circuit, run.trace as Trace);
      assert.equal(w.publicSignals.length, 10 + 784);
    }
  });
});
