// Test helpers: run ONNX bytes in onnxruntime-node (single thread) and compare with our tensors.
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import type { FloatTensor, IntTensor, Tensor } from '../../src/graph.ts';

export type OrtFeed = Tensor | { dtype: 'int64'; shape: number[]; data: ArrayLike<number> };

/** Runs a model once in onnxruntime-node with one intra-op thread; int64 outputs come back as int32. */
export async function runOrt(
  bytes: Uint8Array,
  feeds: Record<string, OrtFeed>,
): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      if (t.dtype === 'float32') ortFeeds[name] = new ort.Tensor('float32', t.data, t.shape);
      else if (t.dtype === 'int64')
        ortFeeds[name] = new ort.Tensor(
          'int64',
          BigInt64Array.from(Array.from(t.data, (x) => BigInt(x))),
          t.shape,
        );
      else ortFeeds[name] = new ort.Tensor('int32', t.data, t.shape);
    }
    const result = await session.run(ortFeeds);
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(result)) {
      const shape = t.dims.map(Number);
      if (t.type === 'float32')
        out[name] = { dtype: 'float32', shape, data: Float32Array.from(t.data as Float32Array) };
      else if (t.type === 'int64')
        out[name] = {
          dtype: 'int32',
          shape,
          data: Int32Array.from(t.data as BigInt64Array, (x) => Number(x)),
        };
      else if (t.type === 'int32')
        out[name] = { dtype: 'int32', shape, data: Int32Array.from(t.data as Int32Array) };
      else throw new Error(`unexpected ORT output type ${t.type}`);
    }
    return out;
  } finally {
    await session.release();
  }
}

/** Largest absolute difference; asserts equal shapes and dtypes first. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape, 'shapes differ');
  assert.equal(a.dtype, b.dtype, 'dtypes differ');
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i];
    const y = b.data[i];
    if (Number.isNaN(x) !== Number.isNaN(y)) return Number.POSITIVE_INFINITY;
    if (Number.isNaN(x)) continue;
    if (x === y) continue;
    const d = Math.abs(x - y);
    if (!(d <= m)) m = d;
  }
  return m;
}

export function assertClose(actual: Tensor, expected: Tensor, tol = 1e-4, label = ''): number {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${label} max abs error ${d} > ${tol}`);
  return d;
}

/** Deterministic pseudo-random numbers (mulberry32) so tests never use Math.random. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFloat(shape: number[], seed: number, lo = -1, hi = 1): FloatTensor {
  const r = rng(seed);
  let n = 1;
  for (const d of shape) n *= d;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * r();
  return { dtype: 'float32', shape, data };
}

export function randomInt(shape: number[], seed: number, lo: number, hi: number): IntTensor {
  const r = rng(seed);
  let n = 1;
  for (const d of shape) n *= d;
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor((hi - lo) * r());
  return { dtype: 'int32', shape, data };
}
