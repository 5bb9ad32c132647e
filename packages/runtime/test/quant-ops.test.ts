// Every operator of OPS through quantize + runInt, against the float reference executor run on
// the same (dequantized) inputs, so the measured error is the operator's own: output rounding,
// weight quantization, tables. Bounds are in units of the output scale (LSB).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFloat } from '../src/float/execute.ts';
import { type FloatTensor, type Graph, type IntTensor, ModelError, OPS, type OpType } from '../src/graph.ts';
import { runInt } from '../src/int/execute.ts';
import { dequantize, quantizeTensor } from '../src/quant/boundary.ts';
import type { QuantModel } from '../src/quant/model.ts';
import { quantize } from '../src/quant/quantize.ts';
import { buildGraph, floatTensor, intTensor, type NodeSpec, randTensor, rng } from './quant-helpers.ts';

type Sample = Record<string, FloatTensor | IntTensor>;
const covered = new Set<OpType>();

/**
 * Quantizes `graph` on `samples` and checks every output on every sample: |int - float| ≤
 * tolLsb · S_out, with the float graph fed the dequantized integer inputs.
 */
function check(graph: Graph, samples: Sample[], tolLsb: number): QuantModel {
  for (const n of graph.nodes) covered.add(n.op);
  const model = quantize(graph, samples);
  for (const sample of samples) {
    const onGrid: Sample = {};
    for (const [name, t] of Object.entries(sample)) {
      const v = model.values.find((x) => x.name === name);
      onGrid[name] = t.dtype === 'float32' && v ? dequantize(quantizeTensor(t, v.scale)) : t;
    }
    const f = runFloat(graph, onGrid);
    const q = runInt(model, sample);
    for (const o of graph.outputs.map((x) => x.name)) {
      const ft = f.outputs[o];
      const qt = q.outputs[o];
      assert.deepEqual(qt.shape, ft.shape, `${o} shape`);
      const deq = dequantize(qt).data;
      let worst = 0;
      let at = -1;
      for (let i = 0; i < deq.length; i++) {
        const d = Math.abs(deq[i] - ft.data[i]);
        if (d > worst) {
          worst = d;
          at = i;
        }
      }
      assert.ok(
        worst <= tolLsb * qt.scale + 1e-6,
        `${o}: |int - float| = ${worst} (${(worst / qt.scale).toFixed(2)} LSB) at ${at}: float ${ft.data[at]}, int ${deq[at]}`,
      );
    }
  }
  return model;
}

function unaryGraph(op: OpType, shape: (number | string)[], attrs: NodeSpec['attrs'] = {}): Graph {
  return buildGraph({
    inputs: { x: shape },
    nodes: [{ op, inputs: ['x'], attrs, outputs: ['y'] }],
    outputs: ['y'],
  });
}

function samples(shape: number[], seed: number, lo = -3, hi = 3, count = 4): Sample[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => ({ x: randTensor(shape, r, lo, hi) }));
}

describe('linear operators', () => {
  it('Gemm with transB, alpha, beta and a bias vector', () => {
    const r = rng(1);
    const g = buildGraph({
      inputs: { x: ['N', 40] },
      initializers: { w: randTensor([24, 40], r, -0.5, 0.5), c: randTensor([24], r) },
      nodes: [
        {
          op: 'Gemm',
          inputs: ['x', 'w', 'c'],
          attrs: { alpha: 0.7, beta: 1.5, transA: 0, transB: 1 },
          outputs: ['y'],
        },
      ],
      outputs: ['y'],
    });
    check(g, samples([5, 40], 2, -1, 1), 3);
  });
  it('Gemm with transA and a scalar C', () => {
    const r = rng(3);
    const g = buildGraph({
      inputs: { x: [30, 'N'] },
      initializers: { w: randTensor([30, 8], r, -0.5, 0.5), c: floatTensor([1], [0.25]) },
      nodes: [
        {
          op: 'Gemm',
          inputs: ['x', 'w', 'c'],
          attrs: { alpha: 1, beta: 1, transA: 1, transB: 0 },
          outputs: ['y'],
        },
      ],
      outputs: ['y'],
    });
    check(g, samples([30, 3], 4, -1, 1), 3);
  });
  it('MatMul with constant weights on a 3-D input', () => {
    const r = rng(5);
    const g = buildGraph({
      inputs: { x: ['N', 6, 32] },
      initializers: { w: randTensor([32, 16], r, -0.4, 0.4) },
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
      outputs: ['y'],
    });
    check(g, samples([2, 6, 32], 6, -1, 1), 3);
  });
  it('MatMul of two activations with batch broadcasting', () => {
    const g = buildGraph({
      inputs: { a: ['N', 2, 5, 12], b: [2, 12, 7] },
      nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
      outputs: ['y'],
    });
    const r = rng(7);
    const s = Array.from({ length: 3 }, () => ({
      a: randTensor([3, 2, 5, 12], r),
      b: randTensor([2, 12, 7], r),
    }));
    check(g, s, 1.5);
  });
  it('Conv with pads, strides, dilations and groups, and a bias', () => {
    const r = rng(8);
    const g = buildGraph({
      inputs: { x: ['N', 4, 9, 8] },
      initializers: { w: randTensor([6, 2, 3, 3], r, -0.5, 0.5), b: randTensor([6], r) },
      nodes: [
        {
          op: 'Conv',
          inputs: ['x', 'w', 'b'],
          attrs: { kernel_shape: [3, 3], strides: [2, 1], pads: [1, 0, 1, 2], dilations: [1, 2], group: 2 },
          outputs: ['y'],
        },
      ],
      outputs: ['y'],
    });
    check(g, samples([2, 4, 9, 8], 9, -1, 1), 3);
  });
});

describe('elementwise arithmetic', () => {
  const two = (op: OpType, bShape: number[], bConst?: FloatTensor) =>
    buildGraph({
      inputs: bConst ? { a: ['N', 3, 4] } : { a: ['N', 3, 4], b: bShape },
      initializers: bConst ? { b: bConst } : {},
      nodes: [{ op, inputs: ['a', 'b'], outputs: ['y'] }],
      outputs: ['y'],
    });
  const pairs = (seed: number, bShape: number[], blo = -2, bhi = 2) => {
    const r = rng(seed);
    return Array.from({ length: 4 }, () => ({
      a: randTensor([2, 3, 4], r, -2, 2),
      b: randTensor(bShape, r, blo, bhi),
    }));
  };
  const aOnly = (seed: number) => {
    const r = rng(seed);
    return Array.from({ length: 4 }, () => ({ a: randTensor([2, 3, 4], r, -2, 2) }));
  };
  it('Add and Sub of two activations with broadcasting', () => {
    check(two('Add', [3, 1]), pairs(10, [3, 1]), 1);
    check(two('Sub', [4]), pairs(11, [4], -0.1, 0.1), 1);
  });
  it('Add and Sub of a constant (int16 per tensor)', () => {
    check(two('Add', [4], floatTensor([4], [0.1, -0.02, 3, 0.5])), aOnly(12), 1);
    check(two('Sub', [], floatTensor([], [1])), aOnly(13), 1);
  });
  it('Mul of two activations and by a constant', () => {
    check(two('Mul', [1, 3, 4]), pairs(14, [1, 3, 4]), 1);
    check(two('Mul', [4], floatTensor([4], [0.01, 0.5, -2, 1.1])), aOnly(15), 1);
  });
  it('Div by a constant (reciprocal) and by a positive activation (reciprocal table)', () => {
    check(two('Div', [3, 1], floatTensor([3, 1], [2, -0.5, 3])), aOnly(16), 1);
    check(two('Div', [4]), pairs(17, [4], 0.5, 2), 2);
  });
  it('Pow with constant exponents', () => {
    const pow = (e: number) =>
      buildGraph({
        inputs: { x: ['N', 10] },
        initializers: { e: floatTensor([], [e]) },
        nodes: [{ op: 'Pow', inputs: ['x', 'e'], outputs: ['y'] }],
        outputs: ['y'],
      });
    check(pow(2), samples([3, 10], 18, -2, 2), 1);
    check(pow(3), samples([3, 10], 19, -2, 2), 1);
    check(pow(0.5), samples([3, 10], 20, 0, 4), 1);
  });
});

describe('tables and clamps', () => {
  const shape = [4, 16];
  it('Sqrt (negative inputs give 0)', () => {
    check(unaryGraph('Sqrt', ['N', 16]), samples(shape, 21, 0, 9), 1);
  });
  it('Relu keeps the input scale', () => {
    const m = check(unaryGraph('Relu', ['N', 16]), samples(shape, 22), 0.51);
    const v = (n: string) => m.values.find((x) => x.name === n)?.scale;
    assert.equal(v('y'), v('x'));
  });
  it('LeakyRelu', () => {
    check(unaryGraph('LeakyRelu', ['N', 16], { alpha: 0.1 }), samples(shape, 23), 1);
  });
  it('Sigmoid', () => {
    check(unaryGraph('Sigmoid', ['N', 16]), samples(shape, 24, -8, 8), 1);
  });
  it('Tanh', () => {
    check(unaryGraph('Tanh', ['N', 16]), samples(shape, 25), 1);
  });
  it('Gelu, exact and tanh forms', () => {
    check(unaryGraph('Gelu', ['N', 16], { approximate: 'none' }), samples(shape, 26), 1);
    check(unaryGraph('Gelu', ['N', 16], { approximate: 'tanh' }), samples(shape, 27), 1);
  });
  it('Erf', () => {
    check(unaryGraph('Erf', ['N', 16]), samples(shape, 28), 1);
  });
  it('Clip (Relu6-style bounds)', () => {
    check(unaryGraph('Clip', ['N', 16], { min: 0, max: 2 }), samples(shape, 29), 0.51);
  });
});

describe('softmax, log-softmax, layer normalization', () => {
  it('Softmax over the last axis and over a middle axis', () => {
    check(unaryGraph('Softmax', ['N', 10], { axis: -1 }), samples([8, 10], 30, -6, 6), 1.5);
    check(unaryGraph('Softmax', ['N', 5, 3], { axis: 1 }), samples([2, 5, 3], 31, -3, 3), 1.5);
  });
  it('LogSoftmax', () => {
    check(unaryGraph('LogSoftmax', ['N', 10], { axis: -1 }), samples([8, 10], 32, -6, 6), 1.5);
  });
  it('LayerNormalization with scale and bias over the last axis', () => {
    const r = rng(33);
    const g = buildGraph({
      inputs: { x: ['N', 4, 64] },
      initializers: { s: randTensor([64], r, 0.5, 1.5), b: randTensor([64], r, -0.5, 0.5) },
      nodes: [
        {
          op: 'LayerNormalization',
          inputs: ['x', 's', 'b'],
          attrs: { axis: -1, epsilon: 1e-5 },
          outputs: ['y'],
        },
      ],
      outputs: ['y'],
    });
    check(g, samples([2, 4, 64], 34, -2, 2), 1.5);
  });
  it('LayerNormalization over two axes, without bias, with a large epsilon', () => {
    const r = rng(35);
    const g = buildGraph({
      inputs: { x: ['N', 4, 8] },
      initializers: { s: randTensor([4, 8], r, -1, 1) },
      nodes: [
        { op: 'LayerNormalization', inputs: ['x', 's'], attrs: { axis: 1, epsilon: 0.5 }, outputs: ['y'] },
      ],
      outputs: ['y'],
    });
    check(g, samples([3, 4, 8], 36, -1, 1), 1.5);
  });
});

describe('pooling and reductions', () => {
  const pool = (op: OpType, attrs: NodeSpec['attrs']) => unaryGraph(op, ['N', 3, 7, 7], attrs);
  it('MaxPool with padding and ceil_mode keeps the input scale', () => {
    check(
      pool('MaxPool', {
        kernel_shape: [3, 3],
        strides: [2, 2],
        pads: [1, 1, 1, 1],
        dilations: [1, 1],
        ceil_mode: 0,
      }),
      samples([2, 3, 7, 7], 40),
      0.51,
    );
    check(
      pool('MaxPool', {
        kernel_shape: [2, 2],
        strides: [2, 2],
        pads: [0, 0, 0, 0],
        dilations: [1, 1],
        ceil_mode: 1,
      }),
      samples([2, 3, 7, 7], 41),
      0.51,
    );
  });
  it('AveragePool with and without counting padding', () => {
    const a = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 0 };
    check(pool('AveragePool', { ...a, count_include_pad: 0 }), samples([2, 3, 7, 7], 42), 1);
    check(pool('AveragePool', { ...a, count_include_pad: 1 }), samples([2, 3, 7, 7], 43), 1);
  });
  it('GlobalAveragePool', () => {
    check(pool('GlobalAveragePool', {}), samples([2, 3, 7, 7], 44), 1);
  });
  it('ReduceMean over one and two axes, with and without keepdims', () => {
    check(unaryGraph('ReduceMean', ['N', 4, 6], { axes: [1], keepdims: 0 }), samples([2, 4, 6], 45), 1);
    check(unaryGraph('ReduceMean', ['N', 4, 6], { axes: [1, 2], keepdims: 1 }), samples([2, 4, 6], 46), 1);
  });
  it('ArgMax gives exact indices (checked against the integer logits)', () => {
    const g = unaryGraph('ArgMax', ['N', 10], { axis: 1, keepdims: 0, select_last_index: 0 });
    covered.add('ArgMax');
    const s = samples([6, 10], 47);
    const m = quantize(g, s);
    const q = runInt(m, s[0]).outputs.y;
    assert.equal(q.dtype, 'int32');
    assert.deepEqual(q.shape, [6]);
    const xq = quantizeTensor(s[0].x as FloatTensor, m.values.find((v) => v.name === 'x')?.scale ?? 0);
    for (let i = 0; i < 6; i++) {
      const row = [...xq.data.subarray(i * 10, i * 10 + 10)];
      assert.equal(q.data[i], row.indexOf(Math.max(...row)));
    }
  });
});

describe('data movement', () => {
  it('Flatten, Reshape, Transpose, Squeeze, Unsqueeze are exact', () => {
    const g = buildGraph({
      inputs: { x: ['N', 2, 3, 4] },
      initializers: { shape: intTensor([3], [0, 4, -1]) },
      nodes: [
        { op: 'Transpose', inputs: ['x'], attrs: { perm: [0, 3, 1, 2] }, outputs: ['t'] },
        { op: 'Reshape', inputs: ['t', 'shape'], attrs: { allowzero: 0 }, outputs: ['r'] },
        { op: 'Unsqueeze', inputs: ['r'], attrs: { axes: [1] }, outputs: ['u'] },
        { op: 'Squeeze', inputs: ['u'], attrs: { axes: [1] }, outputs: ['s'] },
        { op: 'Flatten', inputs: ['s'], attrs: { axis: 1 }, outputs: ['y'] },
      ],
      outputs: ['y'],
    });
    check(g, samples([3, 2, 3, 4], 50), 0.51);
  });
  it('Concat requantizes inputs of different scales, and takes constants', () => {
    const r = rng(51);
    const g = buildGraph({
      inputs: { a: ['N', 3], b: ['N', 2] },
      nodes: [
        { op: 'Mul', inputs: ['a', 'a'], outputs: ['aa'] },
        { op: 'Concat', inputs: ['aa', 'b'], attrs: { axis: 1 }, outputs: ['c'] },
      ],
      outputs: ['c'],
    });
    const s = Array.from({ length: 4 }, () => ({
      a: randTensor([2, 3], r, -3, 3),
      b: randTensor([2, 2], r, -0.5, 0.5),
    }));
    check(g, s, 1);
    const g2 = buildGraph({
      inputs: { a: [2, 4] },
      initializers: { k: randTensor([1, 4], r, -0.2, 0.2) },
      nodes: [{ op: 'Concat', inputs: ['a', 'k'], attrs: { axis: 0 }, outputs: ['c'] }],
      outputs: ['c'],
    });
    check(g2, [{ a: randTensor([2, 4], r, -1, 1) }, { a: randTensor([2, 4], r, -1, 1) }], 1.01);
  });
  it('Gather: an embedding table with index inputs, and an activation with constant indices', () => {
    const r = rng(52);
    const g = buildGraph({
      inputs: { ids: ['N', 3] },
      initializers: { table: randTensor([10, 6], r, -1, 1) },
      nodes: [{ op: 'Gather', inputs: ['table', 'ids'], attrs: { axis: 0 }, outputs: ['y'] }],
      outputs: ['y'],
    });
    check(g, [{ ids: intTensor([2, 3], [0, 9, -1, 3, 3, 5]) }], 0.51);
    const g2 = buildGraph({
      inputs: { x: ['N', 5] },
      initializers: { idx: intTensor([2], [4, 0]) },
      nodes: [{ op: 'Gather', inputs: ['x', 'idx'], attrs: { axis: 1 }, outputs: ['y'] }],
      outputs: ['y'],
    });
    check(g2, samples([3, 5], 53), 0.51);
  });
});

describe('models that cannot be quantized', () => {
  it('names the node and the operator', () => {
    const g = buildGraph({
      inputs: { a: ['N', 4], b: [4, 3] },
      nodes: [
        {
          op: 'Gemm',
          inputs: ['a', 'b'],
          attrs: { alpha: 1, beta: 1, transA: 0, transB: 0 },
          outputs: ['y'],
          name: 'fc',
        },
      ],
      outputs: ['y'],
    });
    const r = rng(60);
    assert.throws(
      () => quantize(g, [{ a: randTensor([1, 4], r), b: randTensor([4, 3], r) }]),
      (e: unknown) =>
        e instanceof ModelError && e.node === 'fc' && e.op === 'Gemm' && /constant B/.test(e.message),
    );
  });
  it('rejects a Pow whose exponent is not constant', () => {
    const g = buildGraph({
      inputs: { a: ['N', 4], e: ['N', 4] },
      nodes: [{ op: 'Pow', inputs: ['a', 'e'], outputs: ['y'], name: 'p' }],
      outputs: ['y'],
    });
    const r = rng(61);
    assert.throws(
      () => quantize(g, [{ a: randTensor([1, 4], r, 0.1, 1), e: randTensor([1, 4], r) }]),
      (e: unknown) => e instanceof ModelError && e.node === 'p' && e.op === 'Pow',
    );
  });
  it('rejects a calibration without samples', () => {
    assert.throws(() => quantize(unaryGraph('Relu', ['N', 4]), []), ModelError);
  });
});

describe('coverage', () => {
  it('every operator of OPS is exercised above', () => {
    const missing = OPS.filter((op) => !covered.has(op));
    assert.deepEqual(missing, []);
  });
});
