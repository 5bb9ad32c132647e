// Golden values of the deterministic runtime: for each committed MNIST model, the id of its
// quantized artifact and a hash of the integer outputs on fixed test digits. Run directly to
// print them as JSON (`--write` updates golden.json after an intended semantics change), import
// to compute them in-process, or load as a worker thread.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort } from 'node:worker_threads';
import { bytesToHex, sha256 } from '@aivm/crypto';
import { encodeArtifact, type FloatTensor, importOnnx, modelId, quantize, runInt } from '../src/index.ts';
import { imageBatch, loadMnistSplit } from '../training/mnist-data.ts';

export const GOLDEN_FILE = join(import.meta.dirname, 'golden.json');
const MODELS = join(import.meta.dirname, '..', 'models');

export type Golden = Record<string, { modelId: string; outputSha256: string }>;

export function computeGolden(): Golden {
  const { train, test } = loadMnistSplit();
  const out: Golden = {};
  for (const name of ['mnist-mlp', 'mnist-cnn']) {
    const graph = importOnnx(new Uint8Array(readFileSync(join(MODELS, `${name}.onnx`))));
    const input = graph.inputs[0]!;
    const shape = (n: number) => input.shape.map((d) => (typeof d === 'number' ? d : n));
    const calibration: FloatTensor = { dtype: 'float32', shape: shape(200), data: imageBatch(train, 0, 200) };
    const model = quantize(graph, [{ [input.name]: calibration }]);
    const x: FloatTensor = { dtype: 'float32', shape: shape(64), data: imageBatch(test, 0, 64) };
    const y = runInt(model, { [input.name]: x }).outputs[graph.outputs[0]!.name]!;
    const bytes = new Uint8Array(y.data.buffer, y.data.byteOffset, y.data.byteLength);
    out[name] = { modelId: modelId(encodeArtifact(model)), outputSha256: bytesToHex(sha256(bytes)) };
  }
  return out;
}

if (!isMainThread) {
  parentPort!.postMessage(computeGolden());
} else if (process.argv[1] === import.meta.filename) {
  const golden = computeGolden();
  if (process.argv.includes('--write')) writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(golden)}\n`);
}
