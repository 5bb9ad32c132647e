// Untrusted model files: each class of bad input gets a clear ModelError quickly and without a
// large allocation, and a seeded fuzzer (random bytes, byte flips, truncations, huge dims) never
// gets anything but a Graph or a ModelError out of the importer (and the executor).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import onnx from 'onnx-proto';
import { runFloat } from '../src/float/execute.ts';
import { type Graph, ModelError, type ModelLimits, OPS, type Tensor } from '../src/graph.ts';
import { importOnnx } from '../src/onnx/import.ts';
import { buildOnnxModel, floatTensor, intTensor, type OnnxModelSpec } from '../src/onnx/writer.ts';
import { randomFloat, rng } from './helpers/onnx-ort.ts';

const X = (shape: number[], seed = 1) => randomFloat(shape, seed, -1, 1);

/**
 * CPU time of this process in ms (user + system): the work a decoder does, which other processes
 * on the machine do not inflate as they do wall-clock time.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function expectModelError(bytes: Uint8Array, re: RegExp, limits?: Partial<ModelLimits>): ModelError {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = cpuMs();
  let err: unknown;
  try {
    importOnnx(bytes, limits);
  } catch (e) {
    err = e;
  }
  const ms = cpuMs() - t0;
  assert.ok(err instanceof ModelError, `expected ModelError, got ${String(err)}`);
  assert.match(err.message, re);
  assert.ok(ms < 200, `took ${ms} ms of CPU`);
  assert.ok(process.memoryUsage().arrayBuffers - before < 32 * 1024 * 1024, 'allocated too much');
  return err;
}

const mlpSpec = (): OnnxModelSpec => ({
  name: 'mlp',
  opset: 13,
  inputs: [{ name: 'x', shape: ['N', 8] }],
  outputs: [{ name: 'y', shape: ['N', 4] }],
  initializers: { w1: X([8, 6], 1), b1: X([6], 2), w2: X([6, 4], 3), b2: X([4], 4) },
  nodes: [
    { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'] },
    { op: 'Relu', inputs: ['h'], outputs: ['r'] },
    { op: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['z'] },
    { op: 'Softmax', inputs: ['z'], outputs: ['y'] },
  ],
});

function edit(spec: OnnxModelSpec, f: (m: onnx.onnx.ModelProto) => void): Uint8Array {
  const m = onnx.onnx.ModelProto.decode(buildOnnxModel(spec));
  f(m);
  return new Uint8Array(onnx.onnx.ModelProto.encode(m).finish());
}

describe('bad input gives a clear ModelError, fast', () => {
  it('empty, random and truncated protobuf', () => {
    expectModelError(new Uint8Array(0), /model file is empty/);
    expectModelError(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), /malformed ONNX protobuf/);
    const good = buildOnnxModel(mlpSpec());
    expectModelError(
      good.subarray(0, Math.floor(good.length / 2)),
      /malformed ONNX protobuf: index out of range/,
    );
    // A valid protobuf that is not a model.
    expectModelError(Uint8Array.of(0x08, 0x07), /model has no graph/);
  });

  it('graph cycles', () => {
    const spec: OnnxModelSpec = {
      ...mlpSpec(),
      nodes: [
        { op: 'Add', inputs: ['x', 'b'], outputs: ['a'], name: 'first' },
        { op: 'Relu', inputs: ['a'], outputs: ['b'], name: 'second' },
        { op: 'Relu', inputs: ['b'], outputs: ['y'] },
      ],
    };
    expectModelError(buildOnnxModel(spec), /graph has a cycle through node "first"/);
    const self: OnnxModelSpec = {
      ...mlpSpec(),
      nodes: [{ op: 'Add', inputs: ['x', 'y'], outputs: ['y'], name: 'loop' }],
    };
    expectModelError(buildOnnxModel(self), /graph has a cycle through node "loop"/);
  });

  it('undefined inputs and outputs, duplicate producers', () => {
    const spec = mlpSpec();
    spec.nodes[1] = { op: 'Relu', inputs: ['nope'], outputs: ['r'], name: 'relu' };
    expectModelError(buildOnnxModel(spec), /node "relu" \(Relu\): input "nope" is not defined/);
    const noOut = { ...mlpSpec(), outputs: [{ name: 'missing' }] };
    expectModelError(buildOnnxModel(noOut), /graph output "missing" is not produced by any node/);
    const dup = mlpSpec();
    dup.nodes[1] = { op: 'Relu', inputs: ['h'], outputs: ['h2'] };
    dup.nodes.push({ op: 'Relu', inputs: ['h'], outputs: ['h2'], name: 'again' });
    expectModelError(buildOnnxModel(dup), /value "h2" is produced more than once/);
  });

  it('shape mismatches', () => {
    const mm = mlpSpec();
    mm.initializers = { ...mm.initializers, w2: X([5, 4], 3) };
    expectModelError(buildOnnxModel(mm), /node "Gemm_2" \(Gemm\): shape mismatch: inner dimensions/);
    const add: OnnxModelSpec = {
      name: 'add',
      opset: 13,
      inputs: [
        { name: 'a', shape: [2, 3] },
        { name: 'b', shape: [4] },
      ],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['y'] }],
    };
    expectModelError(buildOnnxModel(add), /shape mismatch: cannot broadcast \[2,3\] with \[4\]/);
    const declared = { ...mlpSpec(), outputs: [{ name: 'y', shape: ['N', 5] }] };
    expectModelError(buildOnnxModel(declared), /graph output "y" is declared \[N,5\] but computes \[N,4\]/);
    const reshape: OnnxModelSpec = {
      name: 'r',
      opset: 13,
      inputs: [{ name: 'x', shape: [2, 3] }],
      outputs: [{ name: 'y' }],
      initializers: { s: intTensor([1], [7]) },
      nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }],
    };
    expectModelError(buildOnnxModel(reshape), /cannot reshape \[2,3\] \(6 elements\) to \[7\]/);
    const conv: OnnxModelSpec = {
      name: 'c',
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 3, 8, 8] }],
      outputs: [{ name: 'y' }],
      initializers: { w: X([4, 2, 3, 3]) },
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'] }],
    };
    expectModelError(
      buildOnnxModel(conv),
      /shape mismatch: input channels vs W channels \* group \(3 vs 2\)/,
    );
  });

  it('absurd dimensions: a 10^12-element tensor declared in a tiny file', () => {
    const bytes = edit(mlpSpec(), (m) => {
      const t = m.graph?.initializer?.[0] as onnx.onnx.ITensorProto;
      t.dims = [1_000_000, 1_000_000];
    });
    assert.ok(bytes.length < 1024);
    expectModelError(bytes, /initializer "w1" declares 1000000000000 elements .* over the limit of 16777216/);
    const input = edit(mlpSpec(), (m) => {
      const d = m.graph?.input?.[0].type?.tensorType?.shape?.dim as onnx.onnx.TensorShapeProto.IDimension[];
      d[1] = { dimValue: 1e12 };
    });
    expectModelError(input, /graph input "x" declares 1000000000000 elements/);
    const neg = edit(mlpSpec(), (m) => {
      (m.graph?.initializer?.[0] as onnx.onnx.ITensorProto).dims = [-8, 6];
    });
    expectModelError(neg, /initializer "w1" has an invalid dimension -8/);
    // A reshape to an absurd shape is caught by shape inference before anything runs.
    const reshape: OnnxModelSpec = {
      name: 'r',
      opset: 13,
      inputs: [{ name: 'x', shape: [1] }],
      outputs: [{ name: 'y' }],
      initializers: { s: intTensor([3], [100000, 100000, -1]) },
      nodes: [
        { op: 'Expand', inputs: ['x', 's'], outputs: ['e'] },
        { op: 'Relu', inputs: ['e'], outputs: ['y'] },
      ],
    };
    expectModelError(buildOnnxModel(reshape), /operator Expand is not supported/);
    const big: OnnxModelSpec = {
      name: 'big',
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 1] }],
      outputs: [{ name: 'y' }],
      initializers: { s: intTensor([2], [65536, 65536]) },
      nodes: [
        { op: 'ConstantOfShape', inputs: ['s'], outputs: ['c'] },
        { op: 'Add', inputs: ['x', 'c'], outputs: ['y'] },
      ],
    };
    expectModelError(
      buildOnnxModel(big),
      /ConstantOfShape "ConstantOfShape_0" output declares 4294967296 elements/,
    );
    const conv: OnnxModelSpec = {
      name: 'bigconv',
      opset: 13,
      inputs: [{ name: 'x', shape: ['N', 1, 4096, 4096] }],
      outputs: [{ name: 'y' }],
      initializers: { w: X([64, 1, 1, 1]) },
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'] }],
    };
    expectModelError(
      buildOnnxModel(conv),
      /node "Conv_0" \(Conv\): output \[N,64,4096,4096\] has 1073741824 elements/,
    );
  });

  it('too many nodes, parameters, bytes', () => {
    expectModelError(buildOnnxModel(mlpSpec()), /model has 4 nodes, over the limit of 3/, { maxNodes: 3 });
    expectModelError(buildOnnxModel(mlpSpec()), /initializers declare 54 parameters, over the limit of 50/, {
      maxTotalParameters: 50,
    });
    expectModelError(buildOnnxModel(mlpSpec()), /bytes, over the limit of 100/, { maxFileBytes: 100 });
    // Many nodes in a small file fail on the count, not by being processed.
    const many: OnnxModelSpec = {
      name: 'many',
      opset: 13,
      inputs: [{ name: 'x', shape: [1] }],
      outputs: [{ name: 'v20000' }],
      nodes: Array.from({ length: 20000 }, (_, i) => ({
        op: 'Relu',
        inputs: [i === 0 ? 'x' : `v${i}`],
        outputs: [`v${i + 1}`],
        name: `n${i}`,
      })),
    };
    expectModelError(buildOnnxModel(many), /model has 20000 nodes, over the limit of 10000/);
  });

  it('raw_data length not matching the declared shape', () => {
    const bytes = edit(mlpSpec(), (m) => {
      const t = m.graph?.initializer?.[1] as onnx.onnx.ITensorProto;
      t.rawData = (t.rawData as Uint8Array).subarray(0, 8);
    });
    expectModelError(bytes, /initializer "b1": raw_data has 8 bytes but shape \[6\] of FLOAT needs 24/);
    const typed = edit({ ...mlpSpec(), rawData: false }, (m) => {
      (m.graph?.initializer?.[1] as onnx.onnx.ITensorProto).floatData = [1, 2];
    });
    expectModelError(typed, /initializer "b1": float_data has 2 values but shape \[6\] needs 6/);
  });

  it('rank over maxRank', () => {
    const spec: OnnxModelSpec = {
      name: 'rank',
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 1, 1, 1, 1, 1, 2] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
    };
    expectModelError(buildOnnxModel(spec), /graph input "x" has rank 7, over the limit of 6/);
    const init = edit(mlpSpec(), (m) => {
      (m.graph?.initializer?.[1] as onnx.onnx.ITensorProto).dims = [1, 1, 1, 1, 1, 1, 1, 6];
    });
    expectModelError(init, /initializer "b1" has rank 8, over the limit of 6/);
    const unsq: OnnxModelSpec = {
      name: 'unsq',
      opset: 11,
      inputs: [{ name: 'x', shape: [2, 2, 2, 2, 2, 2] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Unsqueeze', inputs: ['x'], outputs: ['y'], attrs: { axes: [0] } }],
    };
    expectModelError(buildOnnxModel(unsq), /output has rank 7, over the limit of 6/);
  });

  it('unsupported element types and external data', () => {
    const dbl = edit(mlpSpec(), (m) => {
      (m.graph?.input?.[0].type?.tensorType as onnx.onnx.TypeProto.ITensor).elemType = 11;
    });
    expectModelError(
      dbl,
      /graph input "x" has element type DOUBLE; only FLOAT, INT32 and INT64 are supported/,
    );
    const str = edit(mlpSpec(), (m) => {
      (m.graph?.initializer?.[1] as onnx.onnx.ITensorProto).dataType = 8;
    });
    expectModelError(str, /initializer "b1" has element type STRING, which is not supported/);
    const ext = edit(mlpSpec(), (m) => {
      (m.graph?.initializer?.[1] as onnx.onnx.ITensorProto).dataLocation = 1;
    });
    expectModelError(ext, /uses external data/);
  });
});

// ---- the fuzzer --------------------------------------------------------------------------------

function seedModels(): Uint8Array[] {
  const cnn: OnnxModelSpec = {
    name: 'cnn',
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 1, 6, 6] }],
    outputs: [{ name: 'y' }],
    initializers: {
      w: X([2, 1, 3, 3]),
      g: floatTensor([2], [1, 0.5]),
      b: floatTensor([2], [0, 0.1]),
      m: floatTensor([2], [0.1, 0]),
      v: floatTensor([2], [1, 2]),
      fw: X([8, 3], 5),
    },
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'BatchNormalization', inputs: ['c', 'g', 'b', 'm', 'v'], outputs: ['bn'] },
      { op: 'Relu', inputs: ['bn'], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [3, 3], strides: [3, 3] } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { op: 'MatMul', inputs: ['f', 'fw'], outputs: ['y'] },
    ],
  };
  const ln: OnnxModelSpec = {
    name: 'ln',
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 4] }],
    outputs: [{ name: 'y' }],
    initializers: {
      two: floatTensor([], [2]),
      eps: floatTensor([], [1e-5]),
      s2: floatTensor([], [Math.SQRT2]),
    },
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['mean'], attrs: { axes: [-1] } },
      { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
      { op: 'Pow', inputs: ['d', 'two'], outputs: ['sq'] },
      { op: 'ReduceMean', inputs: ['sq'], outputs: ['var'], attrs: { axes: [-1] } },
      { op: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
      { op: 'Sqrt', inputs: ['ve'], outputs: ['std'] },
      { op: 'Div', inputs: ['d', 'std'], outputs: ['n'] },
      { op: 'Div', inputs: ['n', 's2'], outputs: ['a'] },
      { op: 'Erf', inputs: ['a'], outputs: ['y'] },
    ],
  };
  const dyn: OnnxModelSpec = {
    name: 'dyn',
    opset: 11,
    inputs: [
      { name: 'x', shape: ['batch', 2, 2] },
      { name: 'ids', shape: [3], elemType: 'int64' },
    ],
    outputs: [{ name: 'y' }, { name: 'e' }],
    initializers: { zero: intTensor([], [0]), m1: intTensor([1], [-1]), emb: X([5, 2], 9) },
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'] },
      { op: 'Unsqueeze', inputs: ['n'], outputs: ['n1'], attrs: { axes: [0] } },
      { op: 'Concat', inputs: ['n1', 'm1'], outputs: ['t'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['x', 't'], outputs: ['r'] },
      { op: 'Constant', inputs: [], outputs: ['k'], attrs: { value_floats: [1, 2, 3, 4] } },
      { op: 'Mul', inputs: ['r', 'k'], outputs: ['q'] },
      { op: 'Softmax', inputs: ['q'], outputs: ['y'] },
      { op: 'Gather', inputs: ['emb', 'ids'], outputs: ['e'] },
    ],
  };
  return [
    buildOnnxModel(mlpSpec()),
    buildOnnxModel({ ...mlpSpec(), rawData: false, opset: 8 }),
    buildOnnxModel(cnn),
    buildOnnxModel(ln),
    buildOnnxModel(dyn),
  ];
}

/** Structural invariants of any Graph the importer returns. */
function checkGraph(g: Graph): void {
  const defined = new Set([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  for (const n of g.nodes) {
    assert.ok((OPS as readonly string[]).includes(n.op), n.op);
    for (const v of n.inputs) assert.ok(v === '' || defined.has(v), `"${v}" used before definition`);
    for (const v of n.outputs) {
      defined.add(v);
      assert.ok(g.shapes.has(v));
    }
  }
  for (const o of g.outputs) assert.ok(defined.has(o.name));
}

/** Runs a fuzzed graph that imported: any failure must be a ModelError. */
function tryRun(g: Graph, r: () => number): void {
  const feeds: Record<string, Tensor> = {};
  for (const i of g.inputs) {
    const shape = i.shape.map((d) => (typeof d === 'number' ? d : 2));
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > 100_000) return;
    feeds[i.name] =
      i.name === 'ids'
        ? { dtype: 'int32', shape, data: Int32Array.from({ length: n }, () => Math.floor(r() * 5)) }
        : { dtype: 'float32', shape, data: Float32Array.from({ length: n }, () => r() * 2 - 1) };
  }
  try {
    runFloat(g, feeds as Record<string, never>);
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
  }
}

function mutate(base: Uint8Array, r: () => number): Uint8Array {
  const kind = Math.floor(r() * 5);
  const b = new Uint8Array(base);
  if (kind === 0) {
    // Flip 1-8 random bytes.
    const k = 1 + Math.floor(r() * 8);
    for (let i = 0; i < k; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return b;
  }
  if (kind === 1) return b.subarray(0, Math.floor(r() * b.length));
  if (kind === 2) {
    // Single bit flips.
    const i = Math.floor(r() * b.length);
    b[i] ^= 1 << Math.floor(r() * 8);
    return b;
  }
  if (kind === 3) {
    // Splice random bytes in.
    const at = Math.floor(r() * b.length);
    const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256));
    const out = new Uint8Array(b.length + ins.length);
    out.set(b.subarray(0, at));
    out.set(ins, at);
    out.set(b.subarray(at), at + ins.length);
    return out;
  }
  // Structured: huge, negative or zero dims on an initializer or an input.
  const m = onnx.onnx.ModelProto.decode(base);
  const values = [2 ** 40, 1e12, -1, 0, 2 ** 31, 65536, 3];
  const v = values[Math.floor(r() * values.length)];
  const inits = m.graph?.initializer ?? [];
  if (r() < 0.5 && inits.length > 0) {
    const t = inits[Math.floor(r() * inits.length)];
    const dims = [...(t.dims ?? [])];
    if (dims.length === 0) dims.push(v);
    else dims[Math.floor(r() * dims.length)] = v;
    t.dims = dims;
  } else {
    const ins = m.graph?.input ?? [];
    const vi = ins[Math.floor(r() * ins.length)];
    const dims = vi?.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) dims[Math.floor(r() * dims.length)] = { dimValue: v };
  }
  return onnx.onnx.ModelProto.encode(m).finish();
}

describe('fuzzing importOnnx (seeded)', () => {
  const limits = { maxTensorElements: 1 << 20, maxTotalParameters: 1 << 20 };

  it('random bytes: always a Graph or a ModelError', () => {
    const r = rng(12345);
    let errors = 0;
    for (let i = 0; i < 1500; i++) {
      const len = Math.floor(r() * 600);
      const bytes = Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
      try {
        checkGraph(importOnnx(bytes, limits));
      } catch (e) {
        if (!(e instanceof ModelError)) throw new Error(`case ${i}: ${String(e)}`);
        assert.ok(!e.message.startsWith('cannot import model'), `case ${i}: ${e.message}`);
        errors++;
      }
    }
    assert.ok(errors > 1400, `${errors} errors`);
  });

  it('mutated valid models: Graph or ModelError, each case well under a second', () => {
    const seeds = seedModels();
    for (const s of seeds) checkGraph(importOnnx(s, limits));
    const r = rng(777);
    let graphs = 0;
    let errors = 0;
    let slowest = 0;
    const t0 = cpuMs();
    for (let i = 0; i < 3000; i++) {
      const base = seeds[i % seeds.length];
      const bytes = mutate(base, r);
      const c0 = cpuMs();
      try {
        const g = importOnnx(bytes, limits);
        checkGraph(g);
        tryRun(g, r);
        graphs++;
      } catch (e) {
        if (!(e instanceof ModelError))
          throw new Error(`case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
        // The importer's catch-all for unexpected exceptions must never be what answers.
        assert.ok(!e.message.startsWith('cannot import model'), `case ${i}: ${e.message}`);
        errors++;
      }
      slowest = Math.max(slowest, cpuMs() - c0);
    }
    const total = cpuMs() - t0;
    assert.ok(slowest < 250, `slowest case ${slowest} ms of CPU`);
    assert.ok(total < 8000, `total ${total} ms of CPU`);
    assert.ok(graphs > 100 && errors > 500, `${graphs} graphs, ${errors} errors`);
  });
});
