// ONNX importer: encodings, dynamic dims, opset differences, normalised forms and fusions, each
// checked on the Graph and (where it computes) against onnxruntime-node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import onnx from 'onnx-proto';
import { runFloat } from '../src/float/execute.ts';
import { type FloatTensor, ModelError } from '../src/graph.ts';
import { importOnnx } from '../src/onnx/import.ts';
import { buildOnnxModel, floatTensor, intTensor, type OnnxModelSpec } from '../src/onnx/writer.ts';
import { compareWithOrt, oneNode } from './helpers/onnx-models.ts';
import { randomFloat } from './helpers/onnx-ort.ts';

const X = (shape: number[], seed = 1, lo = -2, hi = 2) => randomFloat(shape, seed, lo, hi);
const ops = (spec: OnnxModelSpec) => importOnnx(buildOnnxModel(spec)).nodes.map((n) => n.op);

function mlp(rawData: boolean, onnxType?: 'double'): OnnxModelSpec {
  const w = { ...X([4, 3], 1), ...(onnxType ? { onnxType } : {}) };
  const b = { ...X([3], 2), ...(onnxType ? { onnxType } : {}) };
  return {
    name: 'mlp',
    opset: 13,
    rawData,
    inputs: [{ name: 'x', shape: ['N', 4] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: { w, b, shape: intTensor([2], [-1, 3]) },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'b'], outputs: ['a'] },
      { op: 'Reshape', inputs: ['a', 'shape'], outputs: ['y'] },
    ],
  };
}

function staticShapeModel(): OnnxModelSpec {
  return {
    name: 'static-shape',
    opset: 13,
    inputs: [{ name: 'x', shape: [2, 3, 4] }],
    outputs: [{ name: 'y' }],
    initializers: {
      st: intTensor([1], [1]),
      en: intTensor([1], [3]),
      ax: intTensor([1], [0]),
      m1: intTensor([1], [-1]),
    },
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Cast', inputs: ['s'], outputs: ['sc'], attrs: { to: 7 } },
      { op: 'Slice', inputs: ['sc', 'st', 'en', 'ax'], outputs: ['tail'] },
      { op: 'Concat', inputs: ['m1', 'tail'], outputs: ['target'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['x', 'target'], outputs: ['r'] },
      { op: 'Relu', inputs: ['r'], outputs: ['y'] },
    ],
  };
}

describe('importOnnx: encodings', () => {
  it('reads initializers from raw_data and from typed fields identically', () => {
    const a = importOnnx(buildOnnxModel(mlp(true)));
    const b = importOnnx(buildOnnxModel(mlp(false)));
    assert.deepEqual(a.initializers.get('w'), b.initializers.get('w'));
    assert.deepEqual(a.initializers.get('shape'), { dtype: 'int32', shape: [2], data: Int32Array.of(-1, 3) });
    assert.deepEqual((a.initializers.get('w') as FloatTensor).data, X([4, 3], 1).data);
  });

  it('narrows double_data and raw doubles to float32', () => {
    for (const raw of [true, false]) {
      const g = importOnnx(buildOnnxModel(mlp(raw, 'double')));
      const w = g.initializers.get('w') as FloatTensor;
      assert.equal(w.dtype, 'float32');
      assert.deepEqual(w.data, X([4, 3], 1).data);
    }
  });

  it('reads int32_data and int64_data (saturating to int32)', () => {
    for (const onnxType of ['int32', 'int64'] as const) {
      for (const rawData of [true, false]) {
        const spec = oneNode('Reshape', {
          inputs: [{ name: 'x', shape: [2, 6] }],
          initializers: { s: { ...intTensor([2], [3, -1]), onnxType } },
        });
        const g = importOnnx(buildOnnxModel({ ...spec, rawData }));
        assert.deepEqual(g.initializers.get('s')?.data, Int32Array.of(3, -1));
        assert.deepEqual(g.shapes.get('y'), [3, 4]);
      }
    }
  });

  it('saturates int64 values beyond int32 (Slice ends of INT64_MAX)', () => {
    const model = onnx.onnx.ModelProto.decode(buildOnnxModel(staticShapeModel()));
    const t = model.graph?.initializer?.find((i) => i.name === 'en') as onnx.onnx.ITensorProto;
    t.rawData = new Uint8Array(0);
    t.int64Data = [{ low: -1, high: 0x7fffffff, unsigned: false } as unknown as number];
    const g = importOnnx(onnx.onnx.ModelProto.encode(model).finish());
    assert.deepEqual(g.initializers.get(g.nodes[0].inputs[1])?.data, Int32Array.of(-1, 3, 4));
  });

  it('lifts every Constant form to initializers', () => {
    const spec: OnnxModelSpec = {
      name: 'consts',
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 3] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['t'], attrs: { value: X([3], 4) } },
        { op: 'Constant', inputs: [], outputs: ['f'], attrs: { value_float: 0.5 } },
        { op: 'Constant', inputs: [], outputs: ['fs'], attrs: { value_floats: [1, 2, 3] } },
        { op: 'Constant', inputs: [], outputs: ['i'], attrs: { value_int: 2 } },
        { op: 'Constant', inputs: [], outputs: ['is'], attrs: { value_ints: [3, 2] } },
        { op: 'Add', inputs: ['x', 't'], outputs: ['a'] },
        { op: 'Mul', inputs: ['a', 'f'], outputs: ['b'] },
        { op: 'Sub', inputs: ['b', 'fs'], outputs: ['c'] },
        { op: 'Reshape', inputs: ['c', 'is'], outputs: ['y'] },
      ],
    };
    const g = importOnnx(buildOnnxModel(spec));
    assert.deepEqual(
      g.nodes.map((n) => n.op),
      ['Add', 'Mul', 'Sub', 'Reshape'],
    );
    assert.deepEqual(g.initializers.get('f'), floatTensor([], [0.5]));
    assert.deepEqual(g.initializers.get('fs'), floatTensor([3], [1, 2, 3]));
    assert.deepEqual(g.initializers.get('is'), intTensor([2], [3, 2]));
    assert.deepEqual(g.shapes.get('y'), [3, 2]);
    assert.equal(g.initializers.has('i'), false, 'unused constants are dropped');
  });

  it('accepts IR 3 files that list initializers as graph inputs (opset 7/8)', async () => {
    for (const opset of [7, 8]) {
      const spec = { ...mlp(true), opset };
      const { graph } = await compareWithOrt(spec, { x: X([2, 4]) });
      assert.deepEqual(
        graph.inputs.map((i) => i.name),
        ['x'],
      );
    }
  });
});

describe('importOnnx: dynamic dims and shape inference', () => {
  it('dim_param, missing dims and non-positive dim_value become symbols', () => {
    const spec: OnnxModelSpec = {
      name: 'dyn',
      opset: 13,
      inputs: [{ name: 'x', shape: [null, 3, 4] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['y'], attrs: { axis: 0 } }],
    };
    const g = importOnnx(buildOnnxModel(spec));
    assert.deepEqual(g.inputs[0].shape, ['x_dim0', 3, 4]);
    assert.deepEqual(g.shapes.get('y'), [1, '12*x_dim0']);
    const out = runFloat(g, { x: X([2, 3, 4]) }).outputs.y;
    assert.deepEqual(out.shape, [1, 24]);
  });

  it('infers a shape for every value', () => {
    const g = importOnnx(buildOnnxModel(mlp(true)));
    assert.deepEqual(
      [...g.shapes.entries()].filter(([k]) => ['x', 'm', 'a', 'y'].includes(k)),
      [
        ['x', ['N', 4]],
        ['m', ['N', 3]],
        ['a', ['N', 3]],
        ['y', ['N', 3]],
      ],
    );
    for (const n of g.nodes) for (const v of [...n.inputs, ...n.outputs]) assert.ok(g.shapes.has(v), v);
  });

  it('PyTorch-style dynamic flatten (Shape/Gather/Unsqueeze/Concat/Reshape) becomes Reshape [0,-1]', async () => {
    const spec: OnnxModelSpec = {
      name: 'view',
      opset: 13,
      inputs: [{ name: 'x', shape: ['batch', 2, 3, 3] }],
      outputs: [{ name: 'y', shape: ['batch', 18] }],
      initializers: { zero: intTensor([], [0]), axes: intTensor([1], [0]), minus1: intTensor([1], [-1]) },
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
        { op: 'Unsqueeze', inputs: ['n', 'axes'], outputs: ['n1'] },
        { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['target'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
      ],
    };
    const { graph } = await compareWithOrt(spec, { x: X([3, 2, 3, 3]) });
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ['Reshape'],
    );
    assert.deepEqual(graph.initializers.get(graph.nodes[0].inputs[1])?.data, Int32Array.of(0, -1));
    assert.deepEqual(graph.shapes.get('y'), ['batch', 18]);
  });

  it('static shape arithmetic (Shape of static dims, Cast, Slice, Concat) folds to a constant', async () => {
    const spec = staticShapeModel();
    const { graph } = await compareWithOrt(spec, { x: X([2, 3, 4]) });
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ['Reshape', 'Relu'],
    );
    assert.deepEqual(graph.initializers.get(graph.nodes[0].inputs[1])?.data, Int32Array.of(-1, 3, 4));
  });
});

describe('importOnnx: opset differences are normalised', () => {
  it('Softmax: default axis 1 before opset 13, -1 from 13; old semantics coerce to 2-D', async () => {
    const g11 = importOnnx(
      buildOnnxModel(oneNode('Softmax', { opset: 11, inputs: [{ name: 'x', shape: [2, 3, 4] }] })),
    );
    assert.deepEqual(
      g11.nodes.map((n) => n.op),
      ['Reshape', 'Softmax', 'Reshape'],
    );
    assert.equal(g11.nodes[1].attrs.axis, 1);
    const g13 = importOnnx(
      buildOnnxModel(oneNode('Softmax', { opset: 13, inputs: [{ name: 'x', shape: [2, 3, 4] }] })),
    );
    assert.deepEqual(g13.nodes[0].attrs, { axis: 2 });
    const g9 = importOnnx(
      buildOnnxModel(oneNode('Softmax', { opset: 9, inputs: [{ name: 'x', shape: [2, 5] }] })),
    );
    assert.deepEqual(
      g9.nodes.map((n) => [n.op, n.attrs]),
      [['Softmax', { axis: 1 }]],
    );
    await compareWithOrt(oneNode('Softmax', { opset: 11, inputs: [{ name: 'x', shape: ['N', 3, 4] }] }), {
      x: X([2, 3, 4]),
    });
  });

  it('Squeeze/Unsqueeze/ReduceMean/Clip reach the graph in one attribute form at every opset', () => {
    const sq11 = importOnnx(
      buildOnnxModel(
        oneNode('Squeeze', {
          opset: 11,
          inputs: [{ name: 'x', shape: [1, 3, 1] }],
          attrs: { axes: [-1, 0] },
        }),
      ),
    );
    const sq13 = importOnnx(
      buildOnnxModel(
        oneNode('Squeeze', {
          opset: 13,
          inputs: [{ name: 'x', shape: [1, 3, 1] }],
          initializers: { a: intTensor([2], [-1, 0]) },
        }),
      ),
    );
    for (const g of [sq11, sq13]) {
      assert.deepEqual(g.nodes[0].inputs, ['x']);
      assert.deepEqual(g.nodes[0].attrs, { axes: [0, 2] });
    }
    const rm18 = importOnnx(
      buildOnnxModel(
        oneNode('ReduceMean', {
          opset: 18,
          inputs: [{ name: 'x', shape: [2, 3, 4] }],
          initializers: { a: intTensor([1], [-1]) },
        }),
      ),
    );
    assert.deepEqual(rm18.nodes[0].attrs, { axes: [2], keepdims: 1 });
    assert.deepEqual(rm18.nodes[0].inputs, ['x']);
    const rmAll = importOnnx(
      buildOnnxModel(oneNode('ReduceMean', { opset: 13, inputs: [{ name: 'x', shape: [2, 3] }] })),
    );
    assert.deepEqual(rmAll.nodes[0].attrs, { axes: [0, 1], keepdims: 1 });
    const clip11 = importOnnx(
      buildOnnxModel(
        oneNode('Clip', {
          opset: 11,
          inputs: [{ name: 'x', shape: [2] }],
          initializers: { lo: floatTensor([], [0]) },
        }),
      ),
    );
    assert.deepEqual(clip11.nodes[0].inputs, ['x']);
    assert.deepEqual(clip11.nodes[0].attrs, { min: 0, max: 3.4028234663852886e38 });
    const clip9 = importOnnx(
      buildOnnxModel(oneNode('Clip', { opset: 9, inputs: [{ name: 'x', shape: [2] }], attrs: { max: 6 } })),
    );
    assert.deepEqual(clip9.nodes[0].attrs, { min: -3.4028234663852886e38, max: 6 });
  });

  it('fills defaults: Gemm, Conv, MaxPool, ArgMax, Transpose, Concat axis, Pow exponent scalar', () => {
    const gemm = importOnnx(
      buildOnnxModel(
        oneNode('Gemm', { inputs: [{ name: 'a', shape: [2, 3] }], initializers: { b: X([3, 4]) } }),
      ),
    );
    assert.deepEqual(gemm.nodes[0].attrs, { alpha: 1, beta: 1, transA: 0, transB: 0 });
    assert.deepEqual(gemm.nodes[0].inputs, ['a', 'b']);
    const conv = importOnnx(
      buildOnnxModel(
        oneNode('Conv', {
          inputs: [{ name: 'x', shape: ['N', 2, 5, 5] }],
          initializers: { w: X([3, 2, 3, 3]) },
        }),
      ),
    );
    assert.deepEqual(conv.nodes[0].attrs, {
      kernel_shape: [3, 3],
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      group: 1,
    });
    assert.deepEqual(conv.shapes.get('y'), ['N', 3, 3, 3]);
    const argmax = importOnnx(
      buildOnnxModel(oneNode('ArgMax', { inputs: [{ name: 'x', shape: [2, 3] }], attrs: { axis: -1 } })),
    );
    assert.deepEqual(argmax.nodes[0].attrs, { axis: 1, keepdims: 1, select_last_index: 0 });
    const tr = importOnnx(
      buildOnnxModel(oneNode('Transpose', { inputs: [{ name: 'x', shape: [2, 3, 4] }] })),
    );
    assert.deepEqual(tr.nodes[0].attrs, { perm: [2, 1, 0] });
    assert.deepEqual(tr.shapes.get('y'), [4, 3, 2]);
    const pow = importOnnx(
      buildOnnxModel(
        oneNode('Pow', { inputs: [{ name: 'x', shape: [2] }], initializers: { e: intTensor([1], [2]) } }),
      ),
    );
    assert.deepEqual(pow.initializers.get(pow.nodes[0].inputs[1]), floatTensor([], [2]));
  });
});

describe('importOnnx: rewrites', () => {
  it('removes Identity and Dropout, including when they produce graph outputs', async () => {
    const spec: OnnxModelSpec = {
      name: 'ids',
      opset: 12,
      inputs: [{ name: 'x', shape: [2, 3] }],
      outputs: [{ name: 'y' }, { name: 'z' }],
      initializers: { ratio: floatTensor([], [0.3]) },
      nodes: [
        { op: 'Identity', inputs: ['x'], outputs: ['i'] },
        { op: 'Relu', inputs: ['i'], outputs: ['r'] },
        { op: 'Dropout', inputs: ['r', 'ratio'], outputs: ['d'] },
        { op: 'Identity', inputs: ['d'], outputs: ['y'] },
        { op: 'Identity', inputs: ['d'], outputs: ['z'] },
      ],
    };
    const { graph, ours } = await compareWithOrt(spec, { x: X([2, 3]) });
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ['Relu', 'Reshape'],
    );
    assert.deepEqual(ours.y.data, ours.z.data);
    assert.deepEqual(graph.nodes[0].inputs, ['x']);
  });

  it('folds BatchNormalization into Gemm (transB) and MatMul, or lowers it to Mul + Add', async () => {
    const bnInits = {
      g: X([3], 3, 0.5, 1.5),
      be: X([3], 4),
      mu: X([3], 5),
      va: X([3], 6, 0.2, 2),
    };
    const bn = { op: 'BatchNormalization', inputs: ['h', 'g', 'be', 'mu', 'va'], outputs: ['y'] };
    const base = {
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 4] }],
      outputs: [{ name: 'y', shape: ['N', 3] }],
    };
    const gemm: OnnxModelSpec = {
      ...base,
      name: 'gemm-bn',
      initializers: { w: X([3, 4], 1), c: X([3], 2), ...bnInits },
      nodes: [
        { op: 'Gemm', inputs: ['x', 'w', 'c'], outputs: ['h'], attrs: { transB: 1, alpha: 0.7, beta: 0.5 } },
        bn,
      ],
    };
    const r1 = await compareWithOrt(gemm, { x: X([5, 4]) });
    assert.deepEqual(
      r1.graph.nodes.map((n) => n.op),
      ['Gemm'],
    );
    const matmul: OnnxModelSpec = {
      ...base,
      name: 'matmul-bn',
      initializers: { w: X([4, 3], 1), ...bnInits },
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] }, bn],
    };
    const r2 = await compareWithOrt(matmul, { x: X([5, 4]) });
    assert.deepEqual(
      r2.graph.nodes.map((n) => n.op),
      ['Gemm'],
    );
    const alone: OnnxModelSpec = {
      ...base,
      name: 'bn-alone',
      inputs: [{ name: 'x', shape: ['N', 3, 2, 2] }],
      outputs: [{ name: 'y' }],
      initializers: bnInits,
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['h'] }, bn],
    };
    const r3 = await compareWithOrt(alone, { x: X([2, 3, 2, 2]) });
    assert.deepEqual(
      r3.graph.nodes.map((n) => n.op),
      ['Relu', 'Mul', 'Add'],
    );
    assert.deepEqual(r3.graph.initializers.get(r3.graph.nodes[1].inputs[1])?.shape, [3, 1, 1]);
  });

  it('fuses the PyTorch LayerNorm pattern (opset < 17) into LayerNormalization', async () => {
    const spec: OnnxModelSpec = {
      name: 'ln-pattern',
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 5, 8] }],
      outputs: [{ name: 'y' }],
      initializers: {
        two: floatTensor([], [2]),
        eps: floatTensor([], [1e-5]),
        gamma: X([8], 3),
        beta: X([8], 4),
      },
      nodes: [
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [-1] } },
        { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
        { op: 'Pow', inputs: ['d', 'two'], outputs: ['sq'] },
        { op: 'ReduceMean', inputs: ['sq'], outputs: ['var'], attrs: { axes: [-1] } },
        { op: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
        { op: 'Sqrt', inputs: ['ve'], outputs: ['std'] },
        { op: 'Div', inputs: ['d', 'std'], outputs: ['n'] },
        { op: 'Mul', inputs: ['n', 'gamma'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 'beta'], outputs: ['y'] },
      ],
    };
    const { graph } = await compareWithOrt(spec, { x: X([2, 5, 8]) });
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ['LayerNormalization'],
    );
    const ln = graph.nodes[0];
    assert.equal(ln.attrs.axis, 2);
    assert.ok(Math.abs((ln.attrs.epsilon as number) - 1e-5) < 1e-12);
    assert.deepEqual(graph.initializers.get(ln.inputs[1])?.data, X([8], 3).data);
    // Without gamma/beta, and with Mul(d, d) instead of Pow.
    const bare: OnnxModelSpec = {
      ...spec,
      name: 'ln-bare',
      nodes: [
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [2] } },
        { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
        { op: 'Mul', inputs: ['d', 'd'], outputs: ['sq'] },
        { op: 'ReduceMean', inputs: ['sq'], outputs: ['var'], attrs: { axes: [2] } },
        { op: 'Add', inputs: ['eps', 'var'], outputs: ['ve'] },
        { op: 'Sqrt', inputs: ['ve'], outputs: ['std'] },
        { op: 'Div', inputs: ['d', 'std'], outputs: ['y'] },
      ],
    };
    const r2 = await compareWithOrt(bare, { x: X([2, 5, 8]) });
    assert.deepEqual(
      r2.graph.nodes.map((n) => n.op),
      ['LayerNormalization'],
    );
  });

  it('leaves a LayerNorm-like chain alone when an intermediate is used elsewhere', () => {
    const spec: OnnxModelSpec = {
      name: 'ln-shared',
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 8] }],
      outputs: [{ name: 'y' }, { name: 'v' }],
      initializers: { two: floatTensor([], [2]), eps: floatTensor([], [1e-5]) },
      nodes: [
        { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [-1] } },
        { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
        { op: 'Pow', inputs: ['d', 'two'], outputs: ['sq'] },
        { op: 'ReduceMean', inputs: ['sq'], outputs: ['v'], attrs: { axes: [-1] } },
        { op: 'Add', inputs: ['v', 'eps'], outputs: ['ve'] },
        { op: 'Sqrt', inputs: ['ve'], outputs: ['std'] },
        { op: 'Div', inputs: ['d', 'std'], outputs: ['y'] },
      ],
    };
    assert.equal(ops(spec).includes('LayerNormalization'), false);
  });

  it('fuses the Erf form of Gelu in the operand orders exporters use', async () => {
    const variants: OnnxModelSpec['nodes'][] = [
      // PyTorch: x * 0.5 * (1 + erf(x / sqrt2)) as Div, Erf, Add, Mul(x, .), Mul(., 0.5)
      [
        { op: 'Div', inputs: ['h', 'sqrt2'], outputs: ['a'] },
        { op: 'Erf', inputs: ['a'], outputs: ['e'] },
        { op: 'Add', inputs: ['e', 'one'], outputs: ['c'] },
        { op: 'Mul', inputs: ['h', 'c'], outputs: ['m'] },
        { op: 'Mul', inputs: ['m', 'half'], outputs: ['y'] },
      ],
      // 0.5 * x first, Mul by 1/sqrt2, constants on the left.
      [
        { op: 'Mul', inputs: ['invsqrt2', 'h'], outputs: ['a'] },
        { op: 'Erf', inputs: ['a'], outputs: ['e'] },
        { op: 'Add', inputs: ['one', 'e'], outputs: ['c'] },
        { op: 'Mul', inputs: ['half', 'h'], outputs: ['hx'] },
        { op: 'Mul', inputs: ['c', 'hx'], outputs: ['y'] },
      ],
    ];
    for (const nodes of variants) {
      const spec: OnnxModelSpec = {
        name: 'gelu-pattern',
        opset: 13,
        inputs: [{ name: 'x', shape: ['N', 6] }],
        outputs: [{ name: 'y' }],
        initializers: {
          w: X([6, 6], 2),
          sqrt2: floatTensor([], [Math.SQRT2]),
          invsqrt2: floatTensor([], [Math.SQRT1_2]),
          one: floatTensor([], [1]),
          half: floatTensor([], [0.5]),
        },
        nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] }, ...nodes],
      };
      const { graph } = await compareWithOrt(spec, { x: X([3, 6], 5) });
      assert.deepEqual(
        graph.nodes.map((n) => [n.op, n.attrs.approximate ?? null]),
        [
          ['MatMul', null],
          ['Gelu', 'none'],
        ],
      );
    }
  });

  it('folds operators whose inputs are all constants (a Transpose of weights)', async () => {
    const spec: OnnxModelSpec = {
      name: 'fold',
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 4] }],
      outputs: [{ name: 'y' }],
      initializers: { w: X([3, 4], 1) },
      nodes: [
        { op: 'Transpose', inputs: ['w'], outputs: ['wt'] },
        { op: 'MatMul', inputs: ['x', 'wt'], outputs: ['y'] },
      ],
    };
    const { graph } = await compareWithOrt(spec, { x: X([2, 4]) });
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ['MatMul'],
    );
    assert.deepEqual(graph.initializers.get('wt')?.shape, [4, 3]);
  });
});

describe('importOnnx: exporter styles', () => {
  it('tf2onnx/Keras-style NHWC CNN (unk__ batch, Transposes, const Reshape, MatMul + Add, Identity output)', async () => {
    const spec: OnnxModelSpec = {
      name: 'tf2onnx',
      opset: 13,
      producer: 'tf2onnx',
      rawData: false,
      inputs: [{ name: 'input_1', shape: ['unk__6', 8, 8, 1] }],
      outputs: [{ name: 'dense', shape: ['unk__7', 10] }],
      initializers: {
        'conv2d/kernel': X([4, 1, 3, 3], 1),
        'conv2d/bias': X([4], 2),
        'flatten/Const': intTensor([2], [-1, 64]),
        'dense/kernel': X([64, 10], 3),
        'dense/bias': X([10], 4),
      },
      nodes: [
        { op: 'Transpose', inputs: ['input_1'], outputs: ['t0'], attrs: { perm: [0, 3, 1, 2] } },
        {
          op: 'Conv',
          inputs: ['t0', 'conv2d/kernel', 'conv2d/bias'],
          outputs: ['c'],
          attrs: { kernel_shape: [3, 3], strides: [1, 1], dilations: [1, 1], group: 1, pads: [1, 1, 1, 1] },
        },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'Transpose', inputs: ['p'], outputs: ['t1'], attrs: { perm: [0, 2, 3, 1] } },
        { op: 'Reshape', inputs: ['t1', 'flatten/Const'], outputs: ['f'] },
        { op: 'MatMul', inputs: ['f', 'dense/kernel'], outputs: ['m'] },
        { op: 'Add', inputs: ['m', 'dense/bias'], outputs: ['a'] },
        { op: 'Softmax', inputs: ['a'], outputs: ['sm'], attrs: { axis: -1 } },
        { op: 'Identity', inputs: ['sm'], outputs: ['dense'] },
      ],
    };
    const { graph } = await compareWithOrt(spec, { input_1: X([3, 8, 8, 1], 5) });
    assert.deepEqual(
      graph.nodes.map((n) => n.op),
      ['Transpose', 'Conv', 'Relu', 'MaxPool', 'Transpose', 'Reshape', 'MatMul', 'Add', 'Softmax'],
    );
    assert.deepEqual(graph.outputs, [{ name: 'dense', shape: ['unk__6', 10] }]);
  });

  it('PyTorch-style MLP (Flatten, Gemm transB=1, opset 9 BatchNorm1d) at several opsets', async () => {
    for (const opset of [9, 11, 14, 17, 21]) {
      const spec: OnnxModelSpec = {
        name: 'torch-mlp',
        opset,
        producer: 'pytorch',
        inputs: [{ name: 'input', shape: ['batch_size', 1, 4, 4] }],
        outputs: [{ name: 'output', shape: ['batch_size', 3] }],
        initializers: {
          'fc1.weight': X([8, 16], 1),
          'fc1.bias': X([8], 2),
          'bn.weight': X([8], 3),
          'bn.bias': X([8], 4),
          'bn.running_mean': X([8], 5),
          'bn.running_var': randomFloat([8], 6, 0.5, 1.5),
          'fc2.weight': X([3, 8], 7),
          'fc2.bias': X([3], 8),
        },
        nodes: [
          { op: 'Flatten', inputs: ['input'], outputs: ['/Flatten_output_0'], attrs: { axis: 1 } },
          {
            op: 'Gemm',
            inputs: ['/Flatten_output_0', 'fc1.weight', 'fc1.bias'],
            outputs: ['/fc1/Gemm_output_0'],
            attrs: { alpha: 1, beta: 1, transB: 1 },
          },
          {
            op: 'BatchNormalization',
            inputs: ['/fc1/Gemm_output_0', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'],
            outputs: ['/bn/BatchNormalization_output_0'],
            attrs: { epsilon: 1e-5, momentum: 0.9 },
          },
          { op: 'Relu', inputs: ['/bn/BatchNormalization_output_0'], outputs: ['/Relu_output_0'] },
          {
            op: 'Gemm',
            inputs: ['/Relu_output_0', 'fc2.weight', 'fc2.bias'],
            outputs: ['output'],
            attrs: { alpha: 1, beta: 1, transB: 1 },
          },
        ],
      };
      const { graph } = await compareWithOrt(spec, { input: X([4, 1, 4, 4], opset) });
      assert.deepEqual(
        graph.nodes.map((n) => n.op),
        ['Flatten', 'Gemm', 'Relu', 'Gemm'],
      );
      assert.equal(graph.opset, opset);
    }
  });
});

describe('importOnnx: unsupported operators and attributes name the node', () => {
  const cases: [string, OnnxModelSpec, RegExp][] = [
    [
      'unknown operator',
      oneNode('LSTM', { inputs: [{ name: 'x', shape: [1, 2, 3] }] }),
      /node "LSTM_0" \(LSTM\): operator LSTM is not supported/,
    ],
    [
      'unknown attribute',
      oneNode('Relu', { inputs: [{ name: 'x', shape: [2] }], attrs: { foo: 1 } }),
      /node "Relu_0" \(Relu\): Relu with attribute foo is not supported/,
    ],
    [
      '3-D Conv',
      oneNode('Conv', {
        inputs: [{ name: 'x', shape: [1, 1, 4, 4, 4] }],
        initializers: { w: X([1, 1, 2, 2, 2]) },
      }),
      /\(Conv\): Conv over 3 spatial dimensions is not supported/,
    ],
    [
      'Conv auto_pad with dynamic spatial dims',
      oneNode('Conv', {
        inputs: [{ name: 'x', shape: [1, 1, 'H', 'W'] }],
        initializers: { w: X([1, 1, 3, 3]) },
        attrs: { auto_pad: 'SAME_UPPER' },
      }),
      /Conv with auto_pad=SAME_UPPER needs static spatial dimensions/,
    ],
    [
      'Gelu approximate',
      oneNode('Gelu', { opset: 20, inputs: [{ name: 'x', shape: [2] }], attrs: { approximate: 'fast' } }),
      /\(Gelu\): Gelu with approximate=fast is not supported/,
    ],
    [
      'MaxPool storage_order',
      oneNode('MaxPool', {
        inputs: [{ name: 'x', shape: [1, 1, 4, 4] }],
        attrs: { kernel_shape: [2, 2], storage_order: 1 },
      }),
      /MaxPool with storage_order=1 is not supported/,
    ],
    [
      'non-constant Pow exponent',
      oneNode('Pow', {
        inputs: [
          { name: 'x', shape: [2] },
          { name: 'e', shape: [2] },
        ],
      }),
      /\(Pow\): Pow exponent must be a constant/,
    ],
    [
      'custom domain',
      {
        ...oneNode('Relu', { inputs: [{ name: 'x', shape: [2] }] }),
        nodes: [{ op: 'FusedGelu', domain: 'com.microsoft', inputs: ['x'], outputs: ['y'] }],
      },
      /operator com\.microsoft::FusedGelu is not supported/,
    ],
    [
      'opset 6',
      oneNode('Relu', { opset: 6, inputs: [{ name: 'x', shape: [2] }] }),
      /opset 6 is not supported \(7 to 21/,
    ],
    [
      'opset 22',
      oneNode('Relu', { opset: 22, inputs: [{ name: 'x', shape: [2] }] }),
      /opset 22 is not supported/,
    ],
    [
      'BatchNormalization training mode',
      oneNode('BatchNormalization', {
        opset: 15,
        inputs: [{ name: 'x', shape: [1, 2] }],
        initializers: { g: X([2]), b: X([2]), m: X([2]), v: X([2], 2, 0.1, 1) },
        attrs: { training_mode: 1 },
      }),
      /BatchNormalization with training_mode=1 is not supported/,
    ],
    [
      'a used Dropout mask',
      {
        name: 'mask',
        opset: 13,
        inputs: [{ name: 'x', shape: [2] }],
        outputs: [{ name: 'y' }, { name: 'mask' }],
        nodes: [{ op: 'Dropout', inputs: ['x'], outputs: ['y', 'mask'] }],
      },
      /Dropout output mask \(mask\) is not supported/,
    ],
    [
      'float input cast to int',
      oneNode('Cast', { inputs: [{ name: 'x', shape: [2] }], attrs: { to: 7 } }),
      /Cast from float to INT64 on a non-constant value is not supported/,
    ],
  ];
  for (const [label, spec, re] of cases) {
    it(label, () => {
      assert.throws(
        () => importOnnx(buildOnnxModel(spec)),
        (e: unknown) => e instanceof ModelError && re.test(e.message),
      );
    });
  }

  it('error carries node and op', () => {
    try {
      importOnnx(buildOnnxModel(oneNode('Resize', { inputs: [{ name: 'x', shape: [1, 1, 2, 2] }] })));
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ModelError);
      assert.equal(e.node, 'Resize_0');
      assert.equal(e.op, 'Resize');
    }
  });
});
