// Byte helpers and hashes: published vectors, and our unrolled keccak256 checked against @noble/hashes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  bigintToBytes,
  bytesToBigint,
  bytesToHex,
  bytesToUtf8,
  CryptoError,
  compareBytes,
  concatBytes,
  EncodingError,
  equalBytes,
  hexToBytes,
  isHex,
  keccak256,
  readU64be,
  sha256,
  u64be,
  utf8ToBytes,
} from '../src/index.node.ts';

const hex = (b: Uint8Array) => bytesToHex(b);

describe('hashes', () => {
  it('keccak256 matches the Ethereum vectors', () => {
    assert.equal(
      hex(keccak256(new Uint8Array())),
      '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    );
    assert.equal(
      hex(keccak256(utf8ToBytes('abc'))),
      '0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45',
    );
  });

  it('sha256 matches the FIPS 180 vectors', () => {
    assert.equal(
      hex(sha256(new Uint8Array())),
      '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(
      hex(sha256(utf8ToBytes('abc'))),
      '0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('bytes', () => {
  it('round-trips hex and rejects malformed hex with a typed error', () => {
    assert.deepEqual(hexToBytes('0x00ffA0'), Uint8Array.from([0, 255, 160]));
    assert.equal(bytesToHex(Uint8Array.from([0, 255, 160])), '0x00ffa0');
    assert.equal(isHex('0x'), true);
    assert.equal(isHex('0xabc'), false);
    assert.equal(isHex('abcd'), false);
    for (const bad of ['0xabc', 'ab', '0xzz']) {
      assert.throws(
        () => hexToBytes(bad),
        (e: unknown) => e instanceof EncodingError && e instanceof CryptoError && e.code === 'ENCODING',
      );
    }
    assert.throws(() => hexToBytes('0x0102', 3), EncodingError);
  });

  it('concatenates, compares and orders bytes', () => {
    assert.deepEqual(
      concatBytes(Uint8Array.of(1), new Uint8Array(), Uint8Array.of(2, 3)),
      Uint8Array.of(1, 2, 3),
    );
    assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
    assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
    assert.ok(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0)) < 0);
    assert.ok(compareBytes(Uint8Array.of(2), Uint8Array.of(1, 9)) > 0);
    assert.equal(compareBytes(Uint8Array.of(7, 7), Uint8Array.of(7, 7)), 0);
  });

  it('encodes UTF-8 strictly', () => {
    assert.equal(bytesToUtf8(utf8ToBytes('héllo ✓')), 'héllo ✓');
    assert.throws(() => bytesToUtf8(Uint8Array.of(0xff, 0xfe)), EncodingError);
  });

  it('encodes integers', () => {
    assert.deepEqual(bigintToBytes(0n), new Uint8Array());
    assert.deepEqual(bigintToBytes(0x1234n), Uint8Array.of(0x12, 0x34));
    assert.deepEqual(bigintToBytes(0x123n), Uint8Array.of(0x01, 0x23));
    assert.equal(bytesToBigint(Uint8Array.of(0x01, 0x23)), 0x123n);
    assert.equal(bytesToBigint(new Uint8Array()), 0n);
    assert.throws(() => bigintToBytes(-1n), EncodingError);
    assert.equal(bytesToHex(u64be(258)), '0x0000000000000102');
    assert.equal(readU64be(u64be(0xffffffffffffffffn)), 0xffffffffffffffffn);
    assert.equal(readU64be(concatBytes(Uint8Array.of(9), u64be(5n)), 1), 5n);
    // Wrapping would silently break key order, so out-of-range values throw.
    assert.throws(() => u64be(-1), EncodingError);
    assert.throws(() => u64be(1n << 64n), EncodingError);
    assert.throws(() => u64be(1.5), EncodingError);
  });
});

describe('keccak256', () => {
  it('matches @noble/hashes on every length from 0 to 700 bytes (5 random inputs each)', () => {
    const mismatches: number[] = [];
    for (let len = 0; len <= 700; len++) {
      for (let k = 0; k < 5; k++) {
        const data = crypto.getRandomValues(new Uint8Array(len));
        if (!equalBytes(keccak256(data), keccak_256(data))) mismatches.push(len);
      }
    }
    assert.deepEqual(mismatches, []);
  });

  it('matches around the 136-byte rate boundary with all-0xff input (padding edge cases)', () => {
    for (const len of [134, 135, 136, 137, 271, 272, 273]) {
      const data = new Uint8Array(len).fill(0xff);
      assert.deepEqual(keccak256(data), keccak_256(data), `length ${len}`);
    }
  });

  it('hashes subarray views and large inputs correctly', () => {
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 2654435761) >>> 24);
    assert.deepEqual(keccak256(big), keccak_256(big));
    const view = big.subarray(13, 13 + 500);
    assert.deepEqual(keccak256(view), keccak_256(view.slice()));
  });

  it('returns fresh output buffers (no aliasing of internal state)', () => {
    const a = keccak256(utf8ToBytes('a'));
    const copy = a.slice();
    keccak256(utf8ToBytes('b'));
    assert.deepEqual(a, copy);
  });

  it('rejects non-byte input with a typed error', () => {
    assert.throws(() => keccak256('abc' as unknown as Uint8Array), EncodingError);
  });
});
