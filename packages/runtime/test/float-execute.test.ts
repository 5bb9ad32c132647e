// Float executor behaviour beyond numerics: input validation, symbolic batch binding, tracing,
// run-time errors, and the shape rules it shares with the importer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFloat } from '../src/float/execute.ts';
import { erf } from '../src/float/kernels.ts';
import { type Graph, ModelError } from '../src/graph.ts';
import { importOnnx } from '../src/onnx/import.ts';
import { buildOnnxModel, floatTensor, intTensor, type OnnxModelSpec } from '../src/onnx/writer.ts';
import {
  bindShape,
  broadcastShapes,
  dimAdd,
  dimDiv,
  dimMul,
  inferShapes,
  windowOutSize,
} from '../src/shape.ts';
import { randomFloat } from './helpers/onnx-ort.ts';

const X = (shape: number[], seed = 1) => randomFloat(shape, seed, -1, 1);

function model(): Graph {
  const spec: OnnxModelSpec = {
    name: 'two-inputs',
    opset: 13,
    inputs: [
      { name: 'a', shape: ['N', 3] },
      { name: 'b', shape: ['N', 3] },
      { name: 'ids', shape: [2], elemType: 'int64' },
    ],
    outputs: [{ name: 'y' }, { name: 'e' }],
    initializers: { w: X([3, 2], 1), emb: floatTensor([3, 2], [0, 1, 10, 11, 20, 21]) },
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
      { op: 'MatMul', inputs: ['s', 'w'], outputs: ['m'] },
      { op: 'Relu', inputs: ['m'], outputs: ['y'] },
      { op: 'Gather', inputs: ['emb', 'ids'], outputs: ['e'] },
    ],
  };
  return importOnnx(buildOnnxModel(spec));
}

const ids = (v: number[]) =>
  intTensor([v.length], v) as { dtype: 'int32'; shape: number[]; data: Int32Array };

describe('runFloat: inputs', () => {
  it('binds the symbolic batch from the inputs and computes', () => {
    const g = model();
    for (const n of [1, 4]) {
      const r = runFloat(g, { a: X([n, 3], 2), b: X([n, 3], 3), ids: ids([2, -3]) });
      assert.deepEqual(r.outputs.y.shape, [n, 2]);
      assert.deepEqual(r.outputs.e.data, Float32Array.of(20, 21, 0, 1));
      for (const v of r.outputs.y.data) assert.ok(v >= 0);
    }
  });

  it('rejects missing inputs, wrong ranks, wrong static dims, inconsistent batches, bad lengths', () => {
    const g = model();
    const ok = { a: X([2, 3]), b: X([2, 3]), ids: ids([0, 1]) };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ a: ok.a, ids: ok.ids }, /input "b" is missing/],
      [{ ...ok, a: X([2, 3, 1]) }, /input "a" has shape \[2,3,1\], the model expects \[N,3\]/],
      [{ ...ok, b: X([2, 4]) }, /input "b" has shape \[2,4\], the model expects \[N,3\]/],
      [{ ...ok, b: X([5, 3]) }, /input "b" dim 0 is 5 but "N" is already bound to 2 by another input/],
      [
        { ...ok, a: { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) } },
        /has 5 values but shape \[2,3\] needs 6/,
      ],
      [{ ...ok, ids: ids([0, 3]) }, /node "Gather_3" \(Gather\): index 3 is out of range \[-3, 3\)/],
      [{ ...ok, ids: X([2]) }, /indices must be integers/],
    ];
    for (const [inputs, re] of cases)
      assert.throws(
        () => runFloat(g, inputs as never),
        (e: unknown) => e instanceof ModelError && re.test(e.message),
        String(re),
      );
  });

  it('trace returns every intermediate value', () => {
    const g = model();
    const a = floatTensor([1, 3], [1, 2, 3]);
    const b = floatTensor([1, 3], [0.5, 0.5, 0.5]);
    const r = runFloat(g, { a, b, ids: ids([1, 0]) }, { trace: true });
    assert.ok(r.trace);
    assert.deepEqual([...r.trace.keys()], ['s', 'm', 'y', 'e']);
    assert.deepEqual(r.trace.get('s')?.data, Float32Array.of(1.5, 2.5, 3.5));
    assert.equal(runFloat(g, { a, b, ids: ids([1, 0]) }).trace, undefined);
  });
});

describe('runFloat: weights', () => {
  it('a reused input buffer mutated between runs is never served from the weight cache', () => {
    const spec: OnnxModelSpec = {
      name: 'mm',
      opset: 13,
      inputs: [
        { name: 'a', shape: [1, 2] },
        { name: 'b', shape: [2, 2] },
      ],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
    };
    const g = importOnnx(buildOnnxModel(spec));
    const a = floatTensor([1, 2], [1, 2]);
    const b = floatTensor([2, 2], [1, 0, 0, 1]);
    assert.deepEqual(runFloat(g, { a, b }).outputs.y.data, Float32Array.of(1, 2));
    b.data.set([0, 1, 1, 0]);
    assert.deepEqual(runFloat(g, { a, b }).outputs.y.data, Float32Array.of(2, 1));
  });
});

describe('erf', () => {
  it('matches reference values to float32 precision', () => {
    // Values of erf from tables (Abramowitz & Stegun 7.1).
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [-0.7, -0.6778011938374184],
    ];
    for (const [x, v] of table) assert.ok(Math.abs(erf(x) - v) < 2e-7, `erf(${x})`);
  });
});

describe('shape rules', () => {
  it('symbolic dim arithmetic', () => {
    assert.equal(dimMul('N', 12), '12*N');
    assert.equal(dimMul('12*N', 'S'), '12*N*S');
    assert.equal(dimDiv('12*N', 12), 'N');
    assert.equal(dimDiv('12*N', 'N'), 12);
    assert.equal(dimDiv('N', 5), undefined);
    assert.equal(dimAdd('N', 'N'), '2*N');
    assert.equal(dimAdd('N', 3), undefined);
    assert.deepEqual(broadcastShapes(['N', 1, 4], [3, 1]), ['N', 3, 4]);
    assert.deepEqual(broadcastShapes([2, 3], [4]), undefined);
    assert.deepEqual(bindShape(['N', '2*N', 3], new Map([['N', 5]])), [5, 10, 3]);
  });

  it('window sizes with and without ceil_mode', () => {
    assert.equal(windowOutSize(7, 2, 2, 0, 0, 1, false), 3);
    assert.equal(windowOutSize(7, 2, 2, 0, 0, 1, true), 4);
    // ceil_mode never starts a window in the trailing padding.
    assert.equal(windowOutSize(6, 3, 2, 1, 1, 1, true), 4);
    assert.equal(windowOutSize(5, 3, 1, 0, 0, 2, false), 1);
  });

  it('inferShapes re-infers a graph for a concrete batch (for the cost model)', () => {
    const g = model();
    const shapes = inferShapes(g, { a: [7, 3], b: [7, 3] });
    assert.deepEqual(shapes.get('y'), [7, 2]);
    assert.deepEqual(shapes.get('e'), [2, 2]);
  });
});
