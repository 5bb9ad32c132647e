// The integer executor as a whole: determinism (quantize twice, run twice, JavaScript vs wasm
// kernels, pooled vs traced buffers), input handling at the float boundary, model validation,
// and the rule that the integer path contains no floating-point functions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelError } from '../src/graph.ts';
import { runInt } from '../src/int/execute.ts';
import { conv2d, linear, maxPool, relu } from '../src/int/kernels.ts';
import { setWasmEnabled, wasmAvailable } from '../src/int/wasm-gemm.ts';
import { dequantize, quantizeTensor } from '../src/quant/boundary.ts';
import type { QuantModel, QuantTensor } from '../src/quant/model.ts';
import { quantize } from '../src/quant/quantize.ts';
import { buildGraph, floatTensor, randTensor, rng } from './quant-helpers.ts';

/** A small attention block plus a conv branch: most kernels in one graph. */
function kitchenSink() {
  const r = rng(100);
  const graph = buildGraph({
    inputs: { x: ['N', 8, 16], img: ['N', 3, 12, 12] },
    initializers: {
      ln_s: randTensor([16], r, 0.5, 1.5),
      ln_b: randTensor([16], r, -0.2, 0.2),
      wq: randTensor([16, 16], r, -0.4, 0.4),
      wk: randTensor([16, 16], r, -0.4, 0.4),
      wv: randTensor([16, 16], r, -0.4, 0.4),
      bq: randTensor([16], r, -0.1, 0.1),
      scale: floatTensor([], [0.25]),
      cw: randTensor([6, 3, 3, 3], r, -0.3, 0.3),
      cb: randTensor([6], r, -0.1, 0.1),
      fw: randTensor([16, 6], r, -0.3, 0.3),
    },
    nodes: [
      {
        op: 'LayerNormalization',
        inputs: ['x', 'ln_s', 'ln_b'],
        attrs: { axis: -1, epsilon: 1e-5 },
        outputs: ['h'],
      },
      { op: 'MatMul', inputs: ['h', 'wq'], outputs: ['q0'] },
      { op: 'Add', inputs: ['q0', 'bq'], outputs: ['q'] },
      { op: 'MatMul', inputs: ['h', 'wk'], outputs: ['k'] },
      { op: 'MatMul', inputs: ['h', 'wv'], outputs: ['v'] },
      { op: 'Transpose', inputs: ['k'], attrs: { perm: [0, 2, 1] }, outputs: ['kt'] },
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s0'] },
      { op: 'Mul', inputs: ['s0', 'scale'], outputs: ['s'] },
      { op: 'Softmax', inputs: ['s'], attrs: { axis: -1 }, outputs: ['p'] },
      { op: 'MatMul', inputs: ['p', 'v'], outputs: ['a'] },
      { op: 'Add', inputs: ['a', 'x'], outputs: ['res'] },
      { op: 'Gelu', inputs: ['res'], attrs: { approximate: 'none' }, outputs: ['g'] },
      { op: 'ReduceMean', inputs: ['g'], attrs: { axes: [1], keepdims: 0 }, outputs: ['pooled'] },
      {
        op: 'Conv',
        inputs: ['img', 'cw', 'cb'],
        attrs: { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 },
        outputs: ['c'],
      },
      { op: 'Relu', inputs: ['c'], outputs: ['cr'] },
      {
        op: 'MaxPool',
        inputs: ['cr'],
        attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], ceil_mode: 0 },
        outputs: ['mp'],
      },
      { op: 'GlobalAveragePool', inputs: ['mp'], outputs: ['gap'] },
      { op: 'Flatten', inputs: ['gap'], attrs: { axis: 1 }, outputs: ['cf'] },
      {
        op: 'Gemm',
        inputs: ['pooled', 'fw'],
        attrs: { alpha: 1, beta: 1, transA: 0, transB: 0 },
        outputs: ['f'],
      },
      { op: 'Add', inputs: ['f', 'cf'], outputs: ['logits'] },
      { op: 'LogSoftmax', inputs: ['logits'], attrs: { axis: 1 }, outputs: ['lp'] },
      {
        op: 'ArgMax',
        inputs: ['logits'],
        attrs: { axis: 1, keepdims: 0, select_last_index: 0 },
        outputs: ['cls'],
      },
    ],
    outputs: ['lp', 'cls'],
  });
  const samples = Array.from({ length: 3 }, () => ({
    x: randTensor([4, 8, 16], r, -2, 2),
    img: randTensor([4, 3, 12, 12], r),
  }));
  return { graph, samples };
}

function sameTensors(a: Map<string, QuantTensor> | Record<string, QuantTensor>, b: typeof a): void {
  const ea = a instanceof Map ? [...a] : Object.entries(a);
  const eb = b instanceof Map ? [...b] : Object.entries(b);
  assert.deepEqual(
    ea.map(([k]) => k),
    eb.map(([k]) => k),
  );
  for (let i = 0; i < ea.length; i++) assert.deepEqual(ea[i][1], eb[i][1], `value ${ea[i][0]}`);
}

describe('determinism', () => {
  it('quantizing twice gives deep-equal models', () => {
    const { graph, samples } = kitchenSink();
    assert.deepEqual(quantize(graph, samples), quantize(graph, samples));
    assert.deepEqual(
      quantize(graph, samples, { method: 'percentile', percentile: 99.9 }),
      quantize(graph, samples, { method: 'percentile', percentile: 99.9 }),
    );
  });
  it('running twice gives identical outputs and traces; pooled and traced runs agree', () => {
    const { graph, samples } = kitchenSink();
    const model = quantize(graph, samples);
    const t1 = runInt(model, samples[0], { trace: true });
    const t2 = runInt(model, samples[0], { trace: true });
    sameTensors(t1.trace as Map<string, QuantTensor>, t2.trace as Map<string, QuantTensor>);
    // Pooled runs reuse intermediate buffers: outputs must stay intact across later runs.
    const p1 = runInt(model, samples[0]);
    const keep = structuredClone(p1.outputs);
    runInt(model, samples[1]);
    const p2 = runInt(model, samples[0]);
    sameTensors(p1.outputs, keep);
    sameTensors(p2.outputs, t1.outputs);
  });
  it('the wasm kernels and the JavaScript loops compute the same integers', {
    skip: !wasmAvailable(),
  }, () => {
    const { graph, samples } = kitchenSink();
    const model = quantize(graph, samples);
    const big = { x: randTensor([64, 8, 16], rng(5), -2, 2), img: randTensor([64, 3, 12, 12], rng(6)) };
    const withWasm = runInt(model, big, { trace: true });
    setWasmEnabled(false);
    try {
      const plain = runInt(model, big, { trace: true });
      sameTensors(withWasm.trace as Map<string, QuantTensor>, plain.trace as Map<string, QuantTensor>);
    } finally {
      setWasmEnabled(true);
    }
  });
  it('wasm and JavaScript linear agree on awkward sizes and extreme values', {
    skip: !wasmAvailable(),
  }, () => {
    const r = rng(9);
    for (const [rows, K, N] of [
      [3, 13, 7],
      [5, 8, 4],
      [2, 1001, 9],
      [17, 64, 130],
    ]) {
      const A = Int8Array.from({ length: rows * K }, () =>
        r() < 0.3 ? (r() < 0.5 ? -127 : 127) : Math.floor(r() * 255) - 127,
      );
      const W = Int8Array.from({ length: N * K }, () =>
        r() < 0.3 ? (r() < 0.5 ? -127 : 127) : Math.floor(r() * 255) - 127,
      );
      const bias = Int32Array.from({ length: N }, () => Math.floor((r() - 0.5) * 2 ** 20));
      const mult = Int32Array.from({ length: N }, () => Math.floor((r() - 0.5) * 65534));
      const shift = Int32Array.from({ length: N }, () => Math.floor(r() * 53));
      const a = linear(A, rows, K, W, N, bias, mult, shift);
      setWasmEnabled(false);
      try {
        assert.deepEqual(linear(A, rows, K, W, N, bias, mult, shift), a);
      } finally {
        setWasmEnabled(true);
      }
    }
  });
  it('wasm and JavaScript conv agree on random multipliers, shifts, groups and saturation', {
    skip: !wasmAvailable(),
  }, () => {
    const r = rng(12);
    const rand8 = (n: number) =>
      Int8Array.from({ length: n }, () =>
        r() < 0.2 ? (r() < 0.5 ? -127 : 127) : Math.floor(r() * 255) - 127,
      );
    for (const c of [
      { B: 2, C: 1, H: 28, W: 28, O: 8, k: 3, s: 1, p: 1, d: 1, g: 1 },
      { B: 3, C: 8, H: 14, W: 13, O: 16, k: 3, s: 2, p: 1, d: 1, g: 2 },
      { B: 1, C: 4, H: 9, W: 9, O: 6, k: 2, s: 1, p: 0, d: 2, g: 1 },
      { B: 2, C: 6, H: 7, W: 11, O: 7, k: 5, s: 1, p: 2, d: 1, g: 1 },
    ]) {
      const K = (c.C / c.g) * c.k * c.k;
      const X = rand8(c.B * c.C * c.H * c.W);
      const W = rand8(c.O * K);
      // Shifts from 0 to 52 with full-range multipliers: ratios far above and below 1.
      const shift = Int32Array.from({ length: c.O }, () => Math.floor(r() * 53));
      const mult = Int32Array.from({ length: c.O }, () => Math.floor((r() - 0.5) * 65534));
      const bias = Int32Array.from({ length: c.O }, () => Math.floor((r() - 0.5) * 2 ** 22));
      const OH = Math.floor((c.H + 2 * c.p - c.d * (c.k - 1) - 1) / c.s) + 1;
      const OW = Math.floor((c.W + 2 * c.p - c.d * (c.k - 1) - 1) / c.s) + 1;
      const attrs = {
        kernel: [c.k, c.k] as [number, number],
        strides: [c.s, c.s] as [number, number],
        pads: [c.p, c.p, c.p, c.p] as [number, number, number, number],
        dilations: [c.d, c.d] as [number, number],
        group: c.g,
      };
      const run = () => conv2d(X, [c.B, c.C, c.H, c.W], W, c.O, bias, mult, shift, attrs, OH, OW);
      const a = run();
      setWasmEnabled(false);
      try {
        assert.deepEqual(run(), a);
      } finally {
        setWasmEnabled(true);
      }
    }
  });
  it('wasm and JavaScript pooling and relu agree on odd sizes', { skip: !wasmAvailable() }, () => {
    const r = rng(13);
    const a = {
      kernel: [2, 2] as [number, number],
      strides: [2, 2] as [number, number],
      pads: [0, 0, 0, 0] as [number, number, number, number],
      dilations: [1, 1] as [number, number],
    };
    for (const [B, C, H, W] of [
      [2, 3, 13, 27],
      [1, 5, 28, 28],
      [3, 2, 7, 40],
      [1, 64, 5, 5],
    ]) {
      const X = Int8Array.from({ length: B * C * H * W }, () => Math.floor(r() * 255) - 127);
      const OH = Math.floor(H / 2);
      const OW = Math.floor(W / 2);
      const pooled = maxPool(X, [B, C, H, W], a, OH, OW);
      const rel = relu(X);
      setWasmEnabled(false);
      try {
        assert.deepEqual(maxPool(X, [B, C, H, W], a, OH, OW), pooled);
        assert.deepEqual(relu(X), rel);
      } finally {
        setWasmEnabled(true);
      }
    }
  });
});

describe('inputs', () => {
  const { graph, samples } = kitchenSink();
  const model = quantize(graph, samples);
  const scale = (name: string) => model.values.find((v) => v.name === name)?.scale ?? 0;
  it('takes pre-quantized int8 inputs, same as the float path', () => {
    const q = {
      x: quantizeTensor(samples[0].x as never, scale('x')),
      img: quantizeTensor(samples[0].img as never, scale('img')),
    };
    sameTensors(runInt(model, q).outputs, runInt(model, samples[0]).outputs);
  });
  it('rounds half away from zero and saturates at the boundary', () => {
    const t = quantizeTensor(floatTensor([7], [0.5, -0.5, 1.5, -2.5, 126.6, -300, Number.NaN]), 1);
    assert.deepEqual([...t.data], [1, -1, 2, -3, 127, -127, 0]);
    assert.deepEqual([...dequantize({ ...t, scale: 0.5 }).data], [0.5, -0.5, 1, -1.5, 63.5, -63.5, 0]);
  });
  it('refuses -128, wrong shapes and inconsistent batch sizes', () => {
    const bad = quantizeTensor(samples[0].x as never, scale('x'));
    bad.data[3] = -128;
    assert.throws(() => runInt(model, { ...samples[0], x: bad }), /-128/);
    assert.throws(() => runInt(model, { ...samples[0], x: randTensor([4, 8, 15], rng(1)) }), ModelError);
    assert.throws(() => runInt(model, { ...samples[0], x: randTensor([5, 8, 16], rng(1)) }), /already bound/);
    assert.throws(() => runInt(model, { x: samples[0].x }), /missing/);
    const otherScale = quantizeTensor(samples[0].x as never, scale('x') * 2);
    assert.throws(() => runInt(model, { ...samples[0], x: otherScale }), /scale/);
  });
});

describe('model validation', () => {
  const { graph, samples } = kitchenSink();
  const fresh = () => quantize(graph, samples);
  const node = (m: QuantModel, kernel: string) => {
    const n = m.nodes.find((x) => x.kernel === kernel);
    if (!n) throw new Error(`no ${kernel} node`);
    return n;
  };
  const cases: [string, (m: QuantModel) => void, RegExp][] = [
    ['a weight of -128', (m) => ((node(m, 'conv').params.weight as Int8Array)[0] = -128), /weight\[0\]/],
    [
      'a bias beyond the accumulator bound',
      (m) => ((node(m, 'linear').params.bias as Int32Array)[0] = 2 ** 31 - 1),
      /bias/,
    ],
    ['a shift of 60', (m) => ((node(m, 'conv').params.shift as Int32Array)[1] = 60), /shift/],
    ['a multiplier of 2^15', (m) => (node(m, 'mul').params.mult = 32768), /mult/],
    ['a wrong exp table head', (m) => ((node(m, 'softmax').params.exp as Int32Array)[0] = 1), /exp\[0\]/],
    ['a table entry of -128', (m) => ((node(m, 'table').params.table as Int8Array)[7] = -128), /table/],
    ['an unknown kernel', (m) => ((node(m, 'relu') as { kernel: string }).kernel = 'fft'), /unknown kernel/],
    ['a dangling input', (m) => (node(m, 'relu').inputs[0] = 'nowhere'), /not computed/],
    ['another format', (m) => ((m as { format: string }).format = 'aivm-quant/0'), /format/],
  ];
  for (const [what, tamper, msg] of cases)
    it(`refuses ${what}`, () => {
      const m = fresh();
      tamper(m);
      assert.throws(
        () => runInt(m, samples[0]),
        (e: unknown) => e instanceof ModelError && msg.test(e.message),
      );
    });
});

describe('no floating point in the integer path', () => {
  it('src/int/** uses no float functions or float arrays', () => {
    const dir = join(import.meta.dirname, '../src/int');
    const banned =
      /Math\.(exp|expm1|tanh|sqrt|cbrt|pow|log|log2|log10|log1p|round|fround|sin|cos|atan|hypot)\b|Float32Array|Float64Array|parseFloat|toFixed|toPrecision/;
    const files = readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.ts'));
    assert.ok(files.length >= 5);
    for (const f of files) {
      const text = readFileSync(join(dir, String(f)), 'utf8');
      text.split('\n').forEach((line, i) => {
        assert.ok(!banned.test(line), `${f}:${i + 1}: ${line.trim()}`);
      });
    }
  });
});
