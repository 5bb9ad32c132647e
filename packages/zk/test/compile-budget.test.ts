// The compile budget (CompileOptions.maxConstraints) and the key cache's shared-memory reads: a
// provider learns that a circuit is too large for the memory of the budget only, and a cached key
// is read once into memory the prover uses in place.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CircuitTooLarge, compile, writeR1cs } from '../src/index.ts';
import { circuitHash, loadOrCreateKeys, readCachedKeys, releaseCurve } from '../src/node.ts';
import { tinyModel } from './helpers/tiny.ts';

const { model } = tinyModel();
const full = compile(model);
const n = full.r1cs.constraints.length;
const dir = mkdtempSync(join(tmpdir(), 'aivm-zk-budget-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await releaseCurve();
});

describe('compile budget', () => {
  it('compiles a circuit of exactly the budget, and stops past it with CircuitTooLarge', () => {
    assert.ok(n > 10);
    assert.equal(compile(model, { maxConstraints: n }).r1cs.constraints.length, n);
    assert.throws(
      () => compile(model, { maxConstraints: n - 1 }),
      (err: unknown) => err instanceof CircuitTooLarge && err.maxConstraints === n - 1,
    );
    assert.throws(() => compile(model, { maxConstraints: 0 }), CircuitTooLarge);
    assert.throws(() => compile(model, { maxConstraints: -1 }), RangeError);
  });
});

describe('key cache reads', () => {
  it('reads cached keys into shared memory, and misses an unknown circuit', async () => {
    const r1cs = writeR1cs(full.r1cs);
    const made = await loadOrCreateKeys(dir, r1cs, { kind: 'dev' });
    assert.equal(made.cached, false);
    const read = readCachedKeys(dir, circuitHash(r1cs), { kind: 'dev' });
    assert.ok(read);
    assert.ok(read.zkey.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(Buffer.from(read.zkey), Buffer.from(made.zkey));
    assert.deepEqual(read.vk, made.vk);
    assert.equal(readCachedKeys(dir, '00'.repeat(32), { kind: 'dev' }), undefined);
    const again = await loadOrCreateKeys(dir, r1cs, { kind: 'dev' });
    assert.equal(again.cached, true);
    assert.ok(again.zkey.buffer instanceof SharedArrayBuffer);
  });
});
