// The float executor against onnxruntime-node (single thread): every operator and its attribute
// variants, on models built with our writer and imported by our importer. Max abs error <= 1e-4.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { floatTensor, intTensor, type OnnxModelSpec, type OnnxTensor } from '../src/onnx/writer.ts';
import { compareWithOrt, oneNode } from './helpers/onnx-models.ts';
import { type OrtFeed, randomFloat, randomInt } from './helpers/onnx-ort.ts';

type Case = { name: string; spec: OnnxModelSpec; feeds: Record<string, OrtFeed>; ops?: string[] };

const f = (name: string, shape: number[]) => ({ name, shape });
const X = (shape: number[], seed = 1, lo = -2, hi = 2) => randomFloat(shape, seed, lo, hi);

function unary(op: string, shape: number[], attrs = {}, opset = 13, lo = -3, hi = 3): Case {
  return {
    name: `${op} ${JSON.stringify(attrs)}`,
    spec: oneNode(op, { opset, inputs: [f('x', shape)], attrs }),
    feeds: { x: X(shape, 7, lo, hi) },
  };
}

function binary(op: string, a: number[], b: number[], bConst = false): Case {
  const lo = op === 'Div' ? 0.5 : -2;
  return {
    name: `${op} ${JSON.stringify(a)} ${JSON.stringify(b)}${bConst ? ' const' : ''}`,
    spec: bConst
      ? oneNode(op, { inputs: [f('a', a)], initializers: { b: X(b, 3, lo, 2) } })
      : oneNode(op, { inputs: [f('a', a), f('b', b)] }),
    feeds: bConst ? { a: X(a, 2) } : { a: X(a, 2), b: X(b, 3, lo, 2) },
  };
}

function conv(
  label: string,
  x: number[],
  w: number[],
  attrs: Record<string, number[] | number | string>,
  bias = true,
): Case {
  const initializers: Record<string, OnnxTensor> = { w: X(w, 11, -0.5, 0.5) };
  if (bias) initializers.b = X([w[0]], 12);
  return {
    name: `Conv ${label}`,
    spec: oneNode('Conv', { inputs: [f('x', x)], initializers, attrs }),
    feeds: { x: X(x, 13) },
  };
}

function pool(
  op: string,
  label: string,
  x: number[],
  attrs: Record<string, number[] | number | string>,
  opset = 13,
): Case {
  return {
    name: `${op} ${label}`,
    spec: oneNode(op, { opset, inputs: [f('x', x)], attrs }),
    feeds: { x: X(x, 21) },
  };
}

const cases: Case[] = [
  // Gemm
  {
    name: 'Gemm plain + C [N]',
    spec: oneNode('Gemm', { inputs: [f('a', [3, 5])], initializers: { b: X([5, 4], 2), c: X([4], 3) } }),
    feeds: { a: X([3, 5]) },
  },
  {
    name: 'Gemm transA transB alpha beta, C [M,N]',
    spec: oneNode('Gemm', {
      inputs: [f('a', [5, 3])],
      initializers: { b: X([4, 5], 2), c: X([3, 4], 3) },
      attrs: { transA: 1, transB: 1, alpha: 0.5, beta: 2 },
    }),
    feeds: { a: X([5, 3]) },
  },
  {
    name: 'Gemm transB, C scalar',
    spec: oneNode('Gemm', {
      inputs: [f('a', [2, 6])],
      initializers: { b: X([3, 6], 2), c: floatTensor([], [0.25]) },
      attrs: { transB: 1 },
    }),
    feeds: { a: X([2, 6]) },
  },
  {
    name: 'Gemm transA only, C [1,N]',
    spec: oneNode('Gemm', {
      inputs: [f('a', [6, 2])],
      initializers: { b: X([6, 3], 2), c: X([1, 3], 4) },
      attrs: { transA: 1 },
    }),
    feeds: { a: X([6, 2]) },
  },
  {
    name: 'Gemm without C (opset 11)',
    spec: oneNode('Gemm', { opset: 11, inputs: [f('a', [2, 6])], initializers: { b: X([6, 3], 2) } }),
    feeds: { a: X([2, 6]) },
  },
  {
    name: 'Gemm with both operands dynamic',
    spec: oneNode('Gemm', { inputs: [f('a', [2, 6]), f('b', [6, 3])] }),
    feeds: { a: X([2, 6]), b: X([6, 3], 5) },
  },
  // MatMul
  ...(
    [
      [
        [3, 4],
        [4, 5],
      ],
      [
        [2, 3, 4],
        [4, 5],
      ],
      [[4], [4, 5]],
      [[3, 4], [4]],
      [
        [2, 1, 3, 4],
        [3, 4, 2],
      ],
      [
        [3, 4],
        [2, 4, 5],
      ],
    ] as [number[], number[]][]
  ).map(
    ([a, b]): Case => ({
      name: `MatMul ${JSON.stringify(a)} x ${JSON.stringify(b)}`,
      spec: oneNode('MatMul', { inputs: [f('a', a), f('b', b)] }),
      feeds: { a: X(a, 1), b: X(b, 2) },
    }),
  ),
  // Elementwise with broadcasting
  ...['Add', 'Sub', 'Mul', 'Div'].flatMap((op) => [
    binary(op, [2, 3, 4], [2, 3, 4]),
    binary(op, [2, 3, 4], [4]),
    binary(op, [2, 1, 4], [3, 1]),
    binary(op, [2, 3], [], true),
    binary(op, [1, 3, 1, 2], [2, 1, 5, 1]),
  ]),
  // Pow with constant exponents
  ...[2, 0.5, 3, 1.7, -1].map(
    (e): Case => ({
      name: `Pow ^${e}`,
      spec: oneNode('Pow', { inputs: [f('x', [3, 4])], initializers: { e: floatTensor([], [e]) } }),
      feeds: { x: X([3, 4], 5, 0.1, 3) },
    }),
  ),
  {
    name: 'Pow with [1] exponent',
    spec: oneNode('Pow', { inputs: [f('x', [2, 3])], initializers: { e: floatTensor([1], [2]) } }),
    feeds: { x: X([2, 3], 5) },
  },
  // Unary
  unary('Sqrt', [3, 5], {}, 13, 0, 4),
  unary('Relu', [3, 5]),
  unary('LeakyRelu', [3, 5]),
  unary('LeakyRelu', [3, 5], { alpha: 0.2 }),
  unary('Sigmoid', [4, 5], {}, 13, -12, 12),
  unary('Tanh', [4, 5]),
  unary('Erf', [6, 50], {}, 13, -4, 4),
  unary('Softmax', [3, 7]),
  unary('Softmax', [2, 3, 4], { axis: 1 }),
  unary('Softmax', [2, 3, 4], { axis: -2 }),
  unary('LogSoftmax', [3, 7]),
  unary('LogSoftmax', [2, 3, 4], { axis: 0 }),
  unary('Softmax', [2, 3, 4], { axis: 1 }, 11),
  unary('LogSoftmax', [2, 3, 4], { axis: 1 }, 11),
  unary('Softmax', [2, 5], {}, 9),
  unary('Gelu', [4, 40], {}, 20, -5, 5),
  unary('Gelu', [4, 40], { approximate: 'tanh' }, 20, -5, 5),
  unary('Flatten', [2, 3, 4], { axis: 0 }),
  unary('Flatten', [2, 3, 4]),
  unary('Flatten', [2, 3, 4], { axis: 2 }),
  unary('Flatten', [2, 3, 4], { axis: -1 }),
  unary('Flatten', [2, 3, 4], { axis: 3 }),
  unary('Transpose', [2, 3, 4]),
  unary('Transpose', [2, 3, 4, 5], { perm: [0, 2, 3, 1] }),
  unary('Transpose', [3, 4], { perm: [1, 0] }),
  unary('Clip', [3, 5], { min: -0.5, max: 0.5 }, 9),
  unary('Clip', [3, 5], { min: 0 }, 9),
  unary('Squeeze', [1, 3, 1, 4], { axes: [0, 2] }, 11),
  unary('Squeeze', [1, 3, 1, 4], { axes: [-2] }, 11),
  unary('Squeeze', [1, 3, 1, 4], {}, 11),
  unary('Unsqueeze', [3, 4], { axes: [0, 3] }, 11),
  unary('Unsqueeze', [3, 4], { axes: [-1] }, 11),
  unary('ReduceMean', [2, 3, 4], { axes: [1] }),
  unary('ReduceMean', [2, 3, 4], { axes: [-1], keepdims: 0 }),
  unary('ReduceMean', [2, 3, 4], { axes: [0, 2] }),
  unary('ReduceMean', [2, 3, 4], {}),
  unary('ReduceMean', [2, 3, 4], { keepdims: 0 }),
  unary('GlobalAveragePool', [2, 3, 5, 4]),
  {
    name: 'Clip min/max inputs (opset 11)',
    spec: oneNode('Clip', {
      opset: 11,
      inputs: [f('x', [3, 5])],
      initializers: { lo: floatTensor([], [-0.3]), hi: floatTensor([], [1.2]) },
    }),
    feeds: { x: X([3, 5]) },
  },
  {
    name: 'Clip max only (opset 13)',
    spec: oneNode('Clip', {
      inputs: [f('x', [3, 5])],
      nodeInputs: ['x', '', 'hi'],
      initializers: { hi: floatTensor([], [0.7]) },
    }),
    feeds: { x: X([3, 5]) },
  },
  {
    name: 'Squeeze axes input (opset 13)',
    spec: oneNode('Squeeze', {
      inputs: [f('x', [1, 3, 1, 4])],
      initializers: { axes: intTensor([2], [0, -2]) },
    }),
    feeds: { x: X([1, 3, 1, 4]) },
  },
  {
    name: 'Unsqueeze axes input (opset 13)',
    spec: oneNode('Unsqueeze', { inputs: [f('x', [3, 4])], initializers: { axes: intTensor([2], [1, -1]) } }),
    feeds: { x: X([3, 4]) },
  },
  {
    name: 'ReduceMean axes input (opset 18)',
    spec: oneNode('ReduceMean', {
      opset: 18,
      inputs: [f('x', [2, 3, 4])],
      initializers: { axes: intTensor([1], [-2]) },
      attrs: { keepdims: 0 },
    }),
    feeds: { x: X([2, 3, 4]) },
  },
  {
    name: 'Reshape with 0 and -1',
    spec: oneNode('Reshape', {
      inputs: [f('x', [2, 3, 4])],
      initializers: { s: intTensor([3], [0, -1, 2]) },
    }),
    feeds: { x: X([2, 3, 4]) },
  },
  {
    name: 'Reshape to a static shape',
    spec: oneNode('Reshape', { inputs: [f('x', [2, 3, 4])], initializers: { s: intTensor([2], [4, 6]) } }),
    feeds: { x: X([2, 3, 4]) },
  },
  {
    name: 'Concat axis 1 (three inputs)',
    spec: oneNode('Concat', {
      inputs: [f('a', [2, 1, 3]), f('b', [2, 4, 3]), f('c', [2, 2, 3])],
      attrs: { axis: 1 },
    }),
    feeds: { a: X([2, 1, 3], 1), b: X([2, 4, 3], 2), c: X([2, 2, 3], 3) },
  },
  {
    name: 'Concat axis -1 with a constant',
    spec: oneNode('Concat', {
      inputs: [f('a', [2, 3])],
      initializers: { k: X([2, 2], 9) },
      attrs: { axis: -1 },
    }),
    feeds: { a: X([2, 3]) },
  },
  {
    name: 'Gather embedding (int64 indices input)',
    spec: oneNode('Gather', {
      inputs: [{ name: 'ids', shape: [2, 5], elemType: 'int64' }],
      initializers: { emb: X([10, 4], 3) },
      nodeInputs: ['emb', 'ids'],
    }),
    feeds: { ids: { dtype: 'int64', shape: [2, 5], data: randomInt([2, 5], 4, -10, 10).data } },
  },
  {
    name: 'Gather axis 1 with constant indices',
    spec: oneNode('Gather', {
      inputs: [f('x', [3, 5, 2])],
      initializers: { idx: intTensor([2, 2], [4, 0, -1, 2]) },
      attrs: { axis: 1 },
    }),
    feeds: { x: X([3, 5, 2]) },
  },
  {
    name: 'Gather scalar index axis -1',
    spec: oneNode('Gather', {
      inputs: [f('x', [3, 5])],
      initializers: { idx: intTensor([], [3]) },
      attrs: { axis: -1 },
    }),
    feeds: { x: X([3, 5]) },
  },
  {
    name: 'LayerNormalization axis -1 (opset 17)',
    spec: oneNode('LayerNormalization', {
      opset: 17,
      inputs: [f('x', [2, 3, 8])],
      initializers: { g: X([8], 5), b: X([8], 6) },
      attrs: { epsilon: 1e-5 },
    }),
    feeds: { x: X([2, 3, 8]) },
  },
  {
    name: 'LayerNormalization axis -2 without bias',
    spec: oneNode('LayerNormalization', {
      opset: 17,
      inputs: [f('x', [2, 3, 8])],
      initializers: { g: X([3, 8], 5) },
      attrs: { axis: -2, epsilon: 1e-3 },
    }),
    feeds: { x: X([2, 3, 8]) },
  },
  // Conv variants
  conv('3x3', [1, 2, 6, 6], [3, 2, 3, 3], {}),
  conv('stride 2 pads 1', [2, 2, 7, 7], [4, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }),
  conv('asymmetric pads, non-square kernel', [1, 3, 6, 5], [2, 3, 3, 2], { pads: [0, 1, 2, 0] }),
  conv('dilations 2', [1, 2, 9, 9], [2, 2, 3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }),
  conv('groups 2', [1, 4, 6, 6], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] }),
  conv('depthwise', [2, 3, 5, 5], [3, 1, 3, 3], { group: 3, strides: [2, 1] }),
  conv('no bias 1x1', [1, 4, 4, 4], [5, 4, 1, 1], {}, false),
  conv('SAME_UPPER stride 2', [1, 2, 7, 6], [2, 2, 3, 3], { auto_pad: 'SAME_UPPER', strides: [2, 2] }),
  conv('SAME_LOWER 4x4', [1, 2, 6, 6], [2, 2, 4, 4], { auto_pad: 'SAME_LOWER' }),
  conv('VALID', [1, 2, 6, 6], [2, 2, 3, 3], { auto_pad: 'VALID', strides: [2, 2] }),
  // Pools
  pool('MaxPool', '2x2 s2', [1, 2, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }),
  pool('MaxPool', '3x3 s1 pads 1', [2, 2, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
  pool('MaxPool', 'ceil_mode', [1, 2, 7, 7], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }),
  pool('MaxPool', 'dilations', [1, 1, 8, 8], { kernel_shape: [2, 2], dilations: [2, 2] }),
  pool('MaxPool', 'SAME_UPPER', [1, 1, 7, 7], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    auto_pad: 'SAME_UPPER',
  }),
  pool('AveragePool', '2x2 s2', [1, 2, 6, 6], { kernel_shape: [2, 2], strides: [2, 2] }),
  pool('AveragePool', 'pads exclude', [1, 2, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
  pool('AveragePool', 'pads include', [1, 2, 5, 5], {
    kernel_shape: [3, 3],
    pads: [1, 1, 1, 1],
    count_include_pad: 1,
  }),
  pool('AveragePool', 'ceil exclude', [1, 1, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
  pool('AveragePool', 'ceil include pads', [1, 1, 6, 6], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    ceil_mode: 1,
    count_include_pad: 1,
  }),
  pool('AveragePool', 'asymmetric pads include', [1, 1, 5, 6], {
    kernel_shape: [2, 3],
    pads: [0, 1, 1, 2],
    count_include_pad: 1,
  }),
];

describe('float executor matches onnxruntime-node (max abs error <= 1e-4)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { maxError } = await compareWithOrt(c.spec, c.feeds);
      assert.ok(maxError <= 1e-4);
    });
  }

  it('ArgMax: axis, keepdims and select_last_index on ties', async () => {
    const data = floatTensor(
      [2, 3, 4],
      [1, 5, 5, 0, 2, 2, 2, 2, 9, 1, 9, 3, 0, 0, 0, 0, 7, 7, 1, 1, 4, 6, 6, 5],
    );
    const variants: Record<string, number>[] = [
      { axis: 2 },
      { axis: -1, keepdims: 0 },
      { axis: 1, select_last_index: 1 },
      { axis: 2, select_last_index: 1, keepdims: 0 },
      { axis: 0 },
    ];
    for (const attrs of variants) {
      const { ours } = await compareWithOrt(
        oneNode('ArgMax', { inputs: [f('x', [2, 3, 4])], attrs, outType: 'int64' }),
        { x: data },
        0,
      );
      assert.equal(ours.y.dtype, 'int32');
    }
  });

  it('dynamic batch: the same model runs at batch 1 and batch 5', async () => {
    const spec: OnnxModelSpec = {
      name: 'mlp',
      opset: 13,
      inputs: [{ name: 'x', shape: ['batch', 1, 4, 4] }],
      outputs: [{ name: 'y', shape: ['batch', 3] }],
      initializers: { w: X([16, 3], 1), b: X([3], 2) },
      nodes: [
        { op: 'Flatten', inputs: ['x'], outputs: ['f'] },
        { op: 'MatMul', inputs: ['f', 'w'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 'b'], outputs: ['a'] },
        { op: 'Softmax', inputs: ['a'], outputs: ['y'] },
      ],
    };
    for (const n of [1, 5]) {
      const { graph, ours } = await compareWithOrt(spec, { x: X([n, 1, 4, 4], n) });
      assert.deepEqual(ours.y.shape, [n, 3]);
      assert.deepEqual(graph.shapes.get('f'), ['batch', 16]);
    }
  });

  it('a CNN with BatchNormalization folded into Conv, MaxPool, Flatten, Gemm', async () => {
    const spec: OnnxModelSpec = {
      name: 'cnn',
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 1, 8, 8] }],
      outputs: [{ name: 'y', shape: ['N', 10] }],
      initializers: {
        w: X([4, 1, 3, 3], 1, -0.5, 0.5),
        cb: X([4], 2),
        g: X([4], 3, 0.5, 1.5),
        be: X([4], 4),
        mu: X([4], 5),
        va: X([4], 6, 0.2, 2),
        fw: X([10, 64], 7, -0.2, 0.2),
        fb: X([10], 8),
      },
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'cb'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        {
          op: 'BatchNormalization',
          inputs: ['c', 'g', 'be', 'mu', 'va'],
          outputs: ['bn'],
          attrs: { epsilon: 1e-3 },
        },
        { op: 'Relu', inputs: ['bn'], outputs: ['r'] },
        { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'Flatten', inputs: ['p'], outputs: ['fl'] },
        { op: 'Dropout', inputs: ['fl'], outputs: ['d'] },
        { op: 'Gemm', inputs: ['d', 'fw', 'fb'], outputs: ['y'], attrs: { transB: 1 } },
      ],
    };
    const { graph } = await compareWithOrt(spec, { x: X([3, 1, 8, 8], 9, 0, 1) });
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm'],
    );
  });
});
