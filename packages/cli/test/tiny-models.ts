// Small ONNX models built in the test (no fixture files): a Gemm -> Tanh -> Gemm -> Sigmoid
// network, whose Tanh and Sigmoid run on the runtime's table kernel that the zk circuit compiler
// has no circuit for; its output is one probability per element.

import { writeFile } from 'node:fs/promises';
import { buildOnnxModel } from '@aivm/runtime';

/** Deterministic weights in [-1, 1). */
function weights(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 1073741824 - 1;
  }
  return out;
}

/** x [N,8] -> Gemm(6) -> Tanh -> Gemm(3) -> Sigmoid -> y [N,3]. */
export function tanhSigmoidOnnx(): Uint8Array {
  return buildOnnxModel({
    name: 'tanh-sigmoid',
    opset: 13,
    inputs: [{ name: 'x', shape: ['N', 8] }],
    outputs: [{ name: 'y', shape: ['N', 3] }],
    initializers: {
      w1: { dtype: 'float32', shape: [6, 8], data: weights(48, 1) },
      b1: { dtype: 'float32', shape: [6], data: weights(6, 2) },
      w2: { dtype: 'float32', shape: [3, 6], data: weights(18, 3) },
      b2: { dtype: 'float32', shape: [3], data: weights(3, 4) },
    },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { transB: 1 } },
      { op: 'Tanh', inputs: ['h'], outputs: ['t'] },
      { op: 'Gemm', inputs: ['t', 'w2', 'b2'], outputs: ['g'], attrs: { transB: 1 } },
      { op: 'Sigmoid', inputs: ['g'], outputs: ['y'] },
    ],
  });
}

/** Calibration rows for tanhSigmoidOnnx: `n` samples of 8 values in [-1, 1). */
export function tanhSigmoidCalibration(n: number): number[][] {
  const w = weights(8 * n, 9);
  return Array.from({ length: n }, (_, i) => Array.from(w.subarray(8 * i, 8 * i + 8)));
}

/** Writes the model and its calibration set as files; returns their paths. */
export async function writeTanhSigmoid(dir: string): Promise<{ onnx: string; calibration: string }> {
  const onnx = `${dir}/tanh-sigmoid.onnx`;
  const calibration = `${dir}/tanh-sigmoid-calibration.json`;
  await writeFile(onnx, tanhSigmoidOnnx());
  await writeFile(calibration, JSON.stringify(tanhSigmoidCalibration(64)));
  return { onnx, calibration };
}
