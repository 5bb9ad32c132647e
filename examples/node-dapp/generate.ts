// Regenerates tiny-scorer.aivm, the small model the Node dApp publishes (run:
// npx node examples/node-dapp/generate.ts). It is built here rather than exported from PyTorch so
// that the example needs nothing outside the repo: x [N,4] -> Gemm(3) -> Relu -> Gemm(2) ->
// Sigmoid -> y [1,2], fixed weights, quantized as `aivm model quantize` does (maxabs) on 64
// calibration rows. Sigmoid runs on the runtime's table kernel, which the zk circuit compiler has no
// circuit for, so the model is published for the on-chain tier only: a distinct model id from the
// devnet's genesis MNIST.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnnxModel, encodeArtifact, importOnnx, modelId, quantize } from '@aivm/runtime';

/** Deterministic values in [-1, 1) (a linear congruential generator: same bytes on every run). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 1073741824 - 1;
  }
  return out;
}

const onnx = buildOnnxModel({
  name: 'tiny-scorer',
  opset: 13,
  inputs: [{ name: 'x', shape: ['N', 4] }],
  outputs: [{ name: 'y', shape: ['N', 2] }],
  initializers: {
    w1: { dtype: 'float32', shape: [3, 4], data: values(12, 11) },
    b1: { dtype: 'float32', shape: [3], data: values(3, 12) },
    w2: { dtype: 'float32', shape: [2, 3], data: values(6, 13) },
    b2: { dtype: 'float32', shape: [2], data: values(2, 14) },
  },
  nodes: [
    { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { transB: 1 } },
    { op: 'Relu', inputs: ['h'], outputs: ['r'] },
    { op: 'Gemm', inputs: ['r', 'w2', 'b2'], outputs: ['g'], attrs: { transB: 1 } },
    { op: 'Sigmoid', inputs: ['g'], outputs: ['y'] },
  ],
});
const graph = importOnnx(onnx);
const calibration = values(64 * 4, 15);
const model = quantize(graph, [{ x: { dtype: 'float32', shape: [64, 4], data: calibration } }], {
  method: 'maxabs',
});
const bytes = encodeArtifact(model);
const out = join(import.meta.dirname, 'tiny-scorer.aivm');
await writeFile(out, bytes);
console.log(`tiny-scorer.aivm ${bytes.length} bytes, id ${modelId(bytes)}`);
