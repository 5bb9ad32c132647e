// aivm model inspect | quantize | run, as a user runs them, on the committed MNIST models.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { imageBatch, loadMnistSplit } from '../../runtime/training/mnist-data.ts';
import { runAivm, tempDir } from './helpers.ts';

const MODELS = join(import.meta.dirname, '..', '..', 'runtime', 'models');

/** numpy.save's format for a float32 array. */
function npy(shape: number[], data: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += `${' '.repeat(64 - ((10 + header.length + 1) % 64))}\n`;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

describe('aivm model', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('aivm-model-');
    const { train, test } = loadMnistSplit();
    await writeFile(join(dir.path, 'calib.npy'), npy([300, 784], imageBatch(train, 0, 300)));
    await writeFile(join(dir.path, 'labels.json'), JSON.stringify(Array.from(train.labels.subarray(0, 300))));
    const digits = Array.from({ length: 3 }, (_, i) => Array.from(imageBatch(test, i, 1)));
    await writeFile(join(dir.path, 'digits.json'), JSON.stringify({ input: digits }));
    await writeFile(join(dir.path, 'expected.json'), JSON.stringify(Array.from(test.labels.subarray(0, 3))));
  });
  after(() => dir.remove());

  it('inspects an ONNX model: operators, shapes, parameters, gas', async () => {
    const r = await runAivm(['model', 'inspect', join(MODELS, 'mnist-mlp.onnx'), '--batch', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.parameters, 101_770);
    assert.deepEqual(info.operators, { Gemm: 2, Relu: 1 });
    assert.deepEqual(info.inputs, [{ name: 'input', shape: ['N', 784] }]);
    assert.equal(info.gas.macs, String(2 * (784 * 128 + 128 * 10)));
  });

  it('quantizes with a calibration set, reports accuracy and writes an artifact that runs', async () => {
    const out = join(dir.path, 'mlp.aivm');
    const q = await runAivm([
      'model',
      'quantize',
      join(MODELS, 'mnist-mlp.onnx'),
      '--calibration',
      join(dir.path, 'calib.npy'),
      '--labels',
      join(dir.path, 'labels.json'),
      '--out',
      out,
      '--json',
    ]);
    assert.equal(q.code, 0, q.stderr);
    const res = JSON.parse(q.stdout);
    assert.match(res.id, /^bafkrei/);
    assert.equal(res.samples, 300);
    assert.ok(
      res.quantizedAccuracy >= res.floatAccuracy - 0.01,
      `${res.quantizedAccuracy} vs ${res.floatAccuracy}`,
    );

    // Same input and calibration => same id.
    const again = await runAivm([
      'model',
      'quantize',
      join(MODELS, 'mnist-mlp.onnx'),
      '--calibration',
      join(dir.path, 'calib.npy'),
      '--out',
      join(dir.path, 'b.aivm'),
      '--json',
    ]);
    assert.equal(JSON.parse(again.stdout).id, res.id);

    const inspected = JSON.parse((await runAivm(['model', 'inspect', out, '--json'])).stdout);
    assert.equal(inspected.id, res.id);

    const run = await runAivm(['model', 'run', out, '--input', join(dir.path, 'digits.json'), '--json']);
    assert.equal(run.code, 0, run.stderr);
    const expected = JSON.parse(
      await import('node:fs/promises').then((fs) => fs.readFile(join(dir.path, 'expected.json'), 'utf8')),
    );
    assert.deepEqual(JSON.parse(run.stdout).logits.argmax, expected);
  });

  it('explains bad input', async () => {
    const r = await runAivm(['model', 'inspect', join(dir.path, 'digits.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid model artifact/);
    const bad = join(dir.path, 'bad.onnx');
    await writeFile(bad, Uint8Array.of(0x0a, 0xff, 0xff, 0xff));
    const b = await runAivm(['model', 'inspect', bad]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /error: /);
  });

  it('refuses .npy input with NaN or Infinity before running, naming the first bad element', async () => {
    const data = new Float32Array(784);
    data[7] = Number.NaN;
    const nan = join(dir.path, 'nan.npy');
    await writeFile(nan, npy([1, 784], data));
    const r = await runAivm(['model', 'run', join(MODELS, 'mnist-mlp.onnx'), '--input', nan]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /element 7 \(flat index\) is NaN; inputs must be finite numbers/);
    // The same file with finite values runs.
    data[7] = 0.5;
    await writeFile(nan, npy([1, 784], data));
    const ok = await runAivm(['model', 'run', join(MODELS, 'mnist-mlp.onnx'), '--input', nan, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
  });
});
