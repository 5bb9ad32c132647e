// The committed MNIST models (packages/runtime/models, made by training/train.ts) on the fixed
// 2,000-digit test split: onnxruntime-node (single thread) is the independent reference; our float
// executor must match its logits to 1e-4 and the quantized integer model must keep accuracy within
// 1 percentage point and agree with ORT's top-1 class on at least 99% of the digits.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { runFloat } from '../src/float/execute.ts';
import type { FloatTensor, Graph } from '../src/graph.ts';
import { runInt } from '../src/int/execute.ts';
import { importOnnx } from '../src/onnx/import.ts';
import { quantize } from '../src/quant/quantize.ts';
import { CLASS_COUNT, IMAGE_PIXELS, loadMnistSplit, type MnistSet } from '../training/mnist-data.ts';
import type { Manifest, ManifestModel } from '../training/train.ts';

const MODELS_DIR = join(import.meta.dirname, '../models');
const manifest = JSON.parse(readFileSync(join(MODELS_DIR, 'manifest.json'), 'utf8')) as Manifest;
const BATCH = 256;
/** Training images the quantizer calibrates on (a prefix of the shuffled train split: all classes). */
const CALIBRATION_COUNT = 500;
const TARGET_ACCURACY_PCT: Record<string, number> = { 'mnist-mlp': 95, 'mnist-cnn': 97 };

function batchTensor(set: MnistSet, start: number, n: number, shape: Array<number | string>): FloatTensor {
  return {
    dtype: 'float32',
    shape: [n, ...(shape.slice(1) as number[])],
    data: set.images.slice(start * IMAGE_PIXELS, (start + n) * IMAGE_PIXELS),
  };
}

/** Index of the largest of `classes` values at `off` (the first on a tie, as ONNX ArgMax). */
function argmax(v: ArrayLike<number>, off: number): number {
  let best = 0;
  for (let k = 1; k < CLASS_COUNT; k++) if (v[off + k] > v[off + best]) best = k;
  return best;
}

function top1(logits: ArrayLike<number>, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = argmax(logits, i * CLASS_COUNT);
  return out;
}

function correctCount(pred: Uint8Array, labels: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === labels[i]) c++;
  return c;
}

async function ortLogits(bytes: Uint8Array, entry: ManifestModel, set: MnistSet): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const logits = new Float32Array(set.count * CLASS_COUNT);
    for (let start = 0; start < set.count; start += BATCH) {
      const n = Math.min(BATCH, set.count - start);
      const x = batchTensor(set, start, n, entry.input.shape);
      const out = await session.run({ [entry.input.name]: new ort.Tensor('float32', x.data, x.shape) });
      logits.set(out[entry.output.name].data as Float32Array, start * CLASS_COUNT);
    }
    return logits;
  } finally {
    await session.release();
  }
}

const { train, test } = loadMnistSplit();

for (const [name, entry] of Object.entries(manifest.models)) {
  describe(name, () => {
    let bytes: Uint8Array;
    let ort: Float32Array;
    let ortTop1: Uint8Array;
    let graph: Graph;

    before(async () => {
      bytes = readFileSync(join(MODELS_DIR, entry.file));
      ort = await ortLogits(bytes, entry, test);
      ortTop1 = top1(ort, test.count);
      graph = importOnnx(bytes);
    });

    it('is the file the manifest describes', () => {
      assert.equal(bytes.length, entry.bytes);
      assert.ok(bytes.length < 1024 * 1024, 'model files stay well under 1 MB');
      assert.equal(createHash('sha256').update(bytes).digest('hex'), entry.sha256);
      assert.equal(manifest.dataset.testCount, test.count);
      assert.equal(manifest.dataset.trainCount, train.count);
    });

    it('has the manifest test accuracy in onnxruntime-node', (t) => {
      const correct = correctCount(ortTop1, test.labels);
      t.diagnostic(`ORT test accuracy ${correct}/${test.count}`);
      assert.equal(correct, entry.ortTestCorrect);
      assert.equal(correct, entry.testCorrect);
      assert.ok(
        (100 * correct) / test.count >= TARGET_ACCURACY_PCT[name],
        `${name}: ${correct}/${test.count}`,
      );
    });

    it('float executor matches onnxruntime-node to 1e-4 on every test logit', (t) => {
      let maxDiff = 0;
      const ours = new Float32Array(test.count * CLASS_COUNT);
      for (let start = 0; start < test.count; start += BATCH) {
        const n = Math.min(BATCH, test.count - start);
        const out = runFloat(graph, { [entry.input.name]: batchTensor(test, start, n, entry.input.shape) })
          .outputs[entry.output.name];
        assert.deepEqual(out.shape, [n, CLASS_COUNT]);
        ours.set(out.data, start * CLASS_COUNT);
      }
      for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ort[i]));
      t.diagnostic(`max abs difference to ORT: ${maxDiff.toExponential(2)}`);
      assert.ok(maxDiff <= 1e-4, `${name}: max abs difference ${maxDiff}`);
      assert.equal(correctCount(top1(ours, test.count), test.labels), entry.ortTestCorrect);
    });

    it('quantized model keeps accuracy within 1 point and agrees with ORT top-1 on >= 99%', (t) => {
      const model = quantize(importOnnx(bytes), [
        { [entry.input.name]: batchTensor(train, 0, CALIBRATION_COUNT, entry.input.shape) },
      ]);
      const pred = new Uint8Array(test.count);
      for (let start = 0; start < test.count; start += BATCH) {
        const n = Math.min(BATCH, test.count - start);
        const out = runInt(model, { [entry.input.name]: batchTensor(test, start, n, entry.input.shape) })
          .outputs[entry.output.name];
        assert.deepEqual(out.shape, [n, CLASS_COUNT]);
        pred.set(top1(out.data, n), start);
      }
      const quantPct = (100 * correctCount(pred, test.labels)) / test.count;
      const floatPct = (100 * entry.ortTestCorrect) / test.count;
      let agree = 0;
      for (let i = 0; i < test.count; i++) if (pred[i] === ortTop1[i]) agree++;
      const agreePct = (100 * agree) / test.count;
      t.diagnostic(`quantized ${quantPct}% vs float ${floatPct}%, top-1 agreement with ORT ${agreePct}%`);
      assert.ok(Math.abs(quantPct - floatPct) <= 1, `${name}: quantized ${quantPct}% vs float ${floatPct}%`);
      assert.ok(agreePct >= 99, `${name}: top-1 agreement with ORT ${agreePct}%`);
    });
  });
}
