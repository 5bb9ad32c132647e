// Regenerates the committed assets of this folder (run: node packages/cli/assets/generate.ts):
// - mnist-mlp.aivm: packages/runtime/models/mnist-mlp.onnx quantized as `aivm model quantize`
//   does (maxabs) on the first 200 digits of the training split, the model the devnet publishes;
// - mnist-digit-7.json: one test digit (a 7) as a [1, 784] JSON array, the devnet's sample input.
// (The zk verification key is not an asset: the devnet derives it at start from the key cache, so
// that it always matches the keys its provider proves with.)

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeArtifact, importOnnx, modelId, quantize } from '@aivm/runtime';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';

const here = import.meta.dirname;
const { train, test } = loadMnistSplit();
const graph = importOnnx(
  new Uint8Array(await readFile(join(here, '..', '..', 'runtime', 'models', 'mnist-mlp.onnx'))),
);
const input = graph.inputs[0]!;
const model = quantize(
  graph,
  [{ [input.name]: { dtype: 'float32', shape: [200, 784], data: imageBatch(train, 0, 200) } }],
  { method: 'maxabs' },
);
const bytes = encodeArtifact(model);
await writeFile(join(here, 'mnist-mlp.aivm'), bytes);
const index = 7; // test digits are stored round-robin by class: index 7 is a 7
if (test.labels[index] !== 7) throw new Error('unexpected test split');
const digit = Array.from(imageBatch(test, index, 1));
await writeFile(join(here, 'mnist-digit-7.json'), `${JSON.stringify([digit])}\n`);
console.log(`mnist-mlp.aivm ${bytes.length} bytes, id ${modelId(bytes)}; mnist-digit-7.json (label 7)`);
