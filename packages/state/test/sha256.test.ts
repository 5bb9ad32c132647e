import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 as reference } from '@aivm/crypto';
import { sha256, sha256Pair, sha256Prefixed64 } from '../src/sha256.ts';
import { prng, randomBytes } from './helpers.ts';

test('sha256.ts matches @aivm/crypto sha256 at every padding boundary and on a large input', () => {
  const rand = prng(11);
  for (let n = 0; n <= 300; n++) {
    const data = randomBytes(rand, n);
    assert.deepEqual(sha256(data), reference(data), `length ${n}`);
  }
  const big = randomBytes(rand, 70_000);
  assert.deepEqual(sha256(big), reference(big));
  // The well-known vector for "abc".
  assert.equal(
    Buffer.from(sha256(new TextEncoder().encode('abc'))).toString('hex'),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});

test('the 65-byte forms hash prefix || 64 bytes, for every value of the last byte', () => {
  const rand = prng(12);
  for (let last = 0; last < 256; last++) {
    const body = randomBytes(rand, 64);
    body[63] = last;
    const prefix = last & 1;
    const expected = reference(new Uint8Array([prefix, ...body]));
    const src = new Uint8Array([9, 9, 9, ...body, 9]);
    const dst = new Uint8Array(40).fill(7);
    sha256Prefixed64(prefix, src, 3, dst, 5);
    assert.deepEqual(dst.subarray(5, 37), expected);
    assert.deepEqual([...dst.subarray(0, 5), ...dst.subarray(37)], [7, 7, 7, 7, 7, 7, 7, 7]);
    assert.deepEqual(sha256Pair(prefix, src, 3, src, 35), expected);
  }
});
