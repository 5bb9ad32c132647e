import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildOnnxModel, estimateGas, importOnnx, ModelError, quantize, RUNTIME_GAS } from '../src/index.ts';

function weights(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = ((s >>> 8) / 2 ** 24 - 0.5) / 8;
  }
  return out;
}

/** MLP 784-128-10 and a small CNN, built through our ONNX writer. */
const mlp = importOnnx(
  buildOnnxModel({
    name: 'mlp',
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 784] }],
    outputs: [{ name: 'y', shape: ['N', 10] }],
    initializers: {
      w1: { dtype: 'float32', shape: [128, 784], data: weights(128 * 784, 1) },
      b1: { dtype: 'float32', shape: [128], data: weights(128, 2) },
      w2: { dtype: 'float32', shape: [10, 128], data: weights(1280, 3) },
      b2: { dtype: 'float32', shape: [10], data: weights(10, 4) },
    },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { transB: 1 } },
      { op: 'Relu', inputs: ['h'], outputs: ['r'] },
      { op: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['y'], attrs: { transB: 1 } },
    ],
  }),
);

const cnn = importOnnx(
  buildOnnxModel({
    name: 'cnn',
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 1, 28, 28] }],
    outputs: [{ name: 'y', shape: ['N', 10] }],
    initializers: {
      k: { dtype: 'float32', shape: [8, 1, 3, 3], data: weights(72, 5) },
      w: { dtype: 'float32', shape: [10, 8 * 14 * 14], data: weights(10 * 8 * 196, 6) },
    },
    nodes: [
      { op: 'Conv', inputs: ['x', 'k'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'w'], outputs: ['y'], attrs: { transB: 1 } },
    ],
  }),
);

describe('static cost model', () => {
  it('counts the multiply-accumulates of linear layers exactly, per batch', () => {
    const one = estimateGas(mlp, { x: [1, 784] });
    assert.equal(one.macs, 784n * 128n + 128n * 10n);
    const batch = estimateGas(mlp, { x: [64, 784] });
    assert.equal(batch.macs, 64n * one.macs);
    assert.equal(one.weightBytes, BigInt(128 * 784 + 128 + 1280 + 10));
    assert.equal(
      one.gas,
      RUNTIME_GAS.BASE +
        one.macs * RUNTIME_GAS.MAC +
        one.elements * RUNTIME_GAS.ELEMENT +
        one.weightBytes +
        RUNTIME_GAS.NODE * BigInt(one.nodes),
    );
  });

  it('counts convolutions by output position and fan-in', () => {
    const c = estimateGas(cnn, { x: [2, 1, 28, 28] });
    const conv = 2n * 8n * 28n * 28n * 9n; // every output element: 1 channel x 3x3
    const fc = 2n * 10n * 1568n;
    assert.equal(c.macs, conv + fc);
  });

  it('prices the integer model the same as the float graph it came from', () => {
    const calib = {
      x: { dtype: 'float32' as const, shape: [4, 784], data: weights(4 * 784, 7).map((v) => v * 8 + 0.5) },
    };
    const q = quantize(mlp, [calib]);
    assert.deepEqual(estimateGas(q, { x: [3, 784] }).macs, estimateGas(mlp, { x: [3, 784] }).macs);
  });

  it('refuses shapes that do not fit the model', () => {
    assert.throws(() => estimateGas(mlp, { x: [1, 783] }), ModelError);
    assert.throws(() => estimateGas(mlp, { x: [0, 784] }), ModelError);
    assert.throws(() => estimateGas(mlp, {}), /no shape given/);
  });
});
