// The quantizer on the committed MNIST models: calibrated on 200 training digits, the integer
// models keep test accuracy within 1 percentage point of the float models (whose accuracy the
// manifest records and mnist.test.ts checks against onnxruntime-node).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FloatTensor } from '../src/graph.ts';
import { runInt } from '../src/int/execute.ts';
import { setWasmEnabled, wasmAvailable } from '../src/int/wasm-gemm.ts';
import { importOnnx } from '../src/onnx/import.ts';
import { quantize } from '../src/quant/quantize.ts';
import { CLASS_COUNT, imageBatch, loadMnistSplit } from '../training/mnist-data.ts';

const MODELS = join(import.meta.dirname, '../models');
const CALIBRATION_DIGITS = 200;
const present = existsSync(join(MODELS, 'manifest.json'));
type Entry = { file: string; testAccuracyPct: number; input: { name: string; shape: (number | string)[] } };
const manifest = present
  ? (JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8')) as { models: Record<string, Entry> })
  : { models: {} };

describe('quantized MNIST models', { skip: !present && 'no committed models' }, () => {
  const { train, test } = loadMnistSplit();
  for (const [name, entry] of Object.entries(manifest.models)) {
    const graph = importOnnx(new Uint8Array(readFileSync(join(MODELS, entry.file))));
    const shape = (n: number) => entry.input.shape.map((d) => (typeof d === 'number' ? d : n));
    const batch = (set: typeof test, start: number, n: number): FloatTensor => ({
      dtype: 'float32',
      shape: shape(n),
      data: imageBatch(set, start, n),
    });
    const model = quantize(graph, [{ [entry.input.name]: batch(train, 0, CALIBRATION_DIGITS) }]);
    const outName = model.outputs[0];

    it(`${name}: int8 accuracy within 1 point of float, calibrated on ${CALIBRATION_DIGITS} digits`, (t) => {
      const logits = runInt(model, { [entry.input.name]: batch(test, 0, test.count) }).outputs[outName].data;
      let correct = 0;
      for (let i = 0; i < test.count; i++) {
        let best = 0;
        for (let k = 1; k < CLASS_COUNT; k++)
          if (logits[i * CLASS_COUNT + k] > logits[i * CLASS_COUNT + best]) best = k;
        if (best === test.labels[i]) correct++;
      }
      const pct = (100 * correct) / test.count;
      t.diagnostic(
        `${name}: int8 ${pct}% vs float ${entry.testAccuracyPct}% (${(pct - entry.testAccuracyPct).toFixed(2)} points)`,
      );
      assert.ok(pct >= entry.testAccuracyPct - 1, `${name}: ${pct}% vs float ${entry.testAccuracyPct}%`);
    });

    it(`${name}: wasm and JavaScript kernels give identical traces`, { skip: !wasmAvailable() }, () => {
      const x = { [entry.input.name]: batch(test, 0, 64) };
      const a = runInt(model, x, { trace: true }).trace;
      setWasmEnabled(false);
      try {
        assert.deepEqual(runInt(model, x, { trace: true }).trace, a);
      } finally {
        setWasmEnabled(true);
      }
    });
  }
});
