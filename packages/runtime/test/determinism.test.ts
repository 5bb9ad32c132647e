// Determinism: the quantized MNIST models and their integer outputs hash to the values committed in
// golden.json — in this process, in a worker thread and in a separate process.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { computeGolden, GOLDEN_FILE, type Golden } from './golden.ts';

const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Golden;

describe('deterministic runtime', () => {
  it('reproduces the committed model ids and output hashes in-process', () => {
    assert.deepEqual(computeGolden(), golden);
  });

  it('gives the same results in a worker thread', async () => {
    const worker = new Worker(new URL('./golden.ts', import.meta.url));
    const result = await new Promise<Golden>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.deepEqual(result, golden);
  });

  it('gives the same results in a separate process', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      new URL('./golden.ts', import.meta.url).pathname,
    ]);
    assert.deepEqual(JSON.parse(stdout), golden);
  });
});
