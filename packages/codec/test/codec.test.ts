import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode as rlpEncode } from '@ethereumjs/rlp';
import {
  CodecError,
  decode,
  eip712Types,
  encode,
  fromJson,
  t,
  toJson,
  toTypedMessage,
} from '../src/index.ts';

const Inner = t.struct('Inner', { to: t.address, amount: t.uint256 });
const Sample = t.struct('Sample', {
  n8: t.uint8,
  n64: t.uint64,
  flag: t.bool,
  name: t.string(16),
  data: t.bytes(8),
  hash: t.bytes32,
  items: t.array(Inner, 3),
});

const ADDR = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const value = {
  n8: 255,
  n64: 2n ** 64n - 1n,
  flag: true,
  name: 'héllo',
  data: Uint8Array.of(1, 2, 3),
  hash: new Uint8Array(32).fill(7),
  items: [{ to: ADDR as `0x${string}`, amount: 10n ** 18n }],
};

describe('codec', () => {
  it('round-trips a value through its canonical bytes', () => {
    const bytes = encode(Sample, value);
    assert.deepEqual(decode(Sample, bytes), value);
    // Encoding is a function of the value only.
    assert.deepEqual(encode(Sample, decode(Sample, bytes)), bytes);
  });

  it('encodes zero as the empty string and false as empty', () => {
    const S = t.struct('Z', { a: t.uint64, b: t.bool });
    assert.deepEqual(encode(S, { a: 0n, b: false }), rlpEncode([new Uint8Array(0), new Uint8Array(0)]));
  });

  it('rejects non-canonical integers, booleans and wrong field counts', () => {
    const S = t.struct('S', { a: t.uint64 });
    assert.throws(() => decode(S, rlpEncode([Uint8Array.of(0, 1)])), /leading zero/);
    assert.throws(() => decode(S, rlpEncode([new Uint8Array(9).fill(1)])), /out of range/);
    const B = t.struct('B', { b: t.bool });
    assert.throws(() => decode(B, rlpEncode([Uint8Array.of(2)])), /non-canonical boolean/);
    assert.throws(() => decode(S, rlpEncode([Uint8Array.of(1), Uint8Array.of(1)])), /has 1 fields, got 2/);
    assert.throws(() => decode(S, Uint8Array.of(0xc2, 0x01)), CodecError);
  });

  it('enforces size limits on decode and encode', () => {
    const S = t.struct('S', { s: t.string(4), l: t.array(t.uint8, 2) });
    assert.throws(() => encode(S, { s: 'hello', l: [] }), /longer than 4 bytes/);
    assert.throws(
      () => decode(S, rlpEncode([new TextEncoder().encode('hello'), []])),
      /s: longer than 4 bytes/,
    );
    assert.throws(() => decode(S, rlpEncode([new Uint8Array(0), [1, 2, 3]])), /more than 2 items/);
  });

  it('rejects invalid UTF-8 and wrong-length addresses', () => {
    const S = t.struct('S', { s: t.string(), a: t.address });
    assert.throws(() => decode(S, rlpEncode([Uint8Array.of(0xff), new Uint8Array(20)])), /invalid UTF-8/);
    assert.throws(
      () => decode(S, rlpEncode([new Uint8Array(0), new Uint8Array(19)])),
      /address must be 20 bytes/,
    );
  });

  it('names the offending field when a value is wrong', () => {
    assert.throws(() => encode(Sample, { ...value, items: [{ to: '0x12' as `0x${string}`, amount: 1n }] }), {
      message: /items\[0\]\.to: expected an address/,
    });
    assert.throws(() => encode(Sample, { ...value, n8: 256 }), /n8: out of range for uint8/);
  });

  it('JSON form round-trips and validates', () => {
    const json = toJson(Sample, value);
    assert.equal((json as { n64: string }).n64, '18446744073709551615');
    assert.deepEqual(fromJson(Sample, JSON.parse(JSON.stringify(json))), value);
    assert.throws(() => fromJson(Sample, { ...(json as object), extra: 1 }), /unknown field extra/);
    assert.throws(() => fromJson(Sample, { ...(json as object), n64: '-1' }), /n64/);
    assert.throws(
      () => fromJson(Sample, { ...(json as object), n64: '18446744073709551616' }),
      /out of range/,
    );
  });

  it('derives EIP-712 types including nested structs', () => {
    const types = eip712Types(Sample);
    assert.deepEqual(Object.keys(types).sort(), ['Inner', 'Sample']);
    assert.deepEqual(
      types.Sample!.map((f) => f.type),
      ['uint8', 'uint64', 'bool', 'string', 'bytes', 'bytes32', 'Inner[]'],
    );
    const msg = toTypedMessage(Sample, value);
    assert.equal(msg.data, '0x010203');
    assert.equal(msg.n8, 255n);
  });

  it('survives random bytes without crashing (fuzz)', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      const bytes = new Uint8Array(next() % 64);
      for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 0xff;
      try {
        const v = decode(Sample, bytes);
        assert.deepEqual(encode(Sample, v), bytes); // anything accepted is canonical
        accepted++;
      } catch (err) {
        assert.ok(err instanceof CodecError, `unexpected ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    assert.equal(accepted, 0);
  });
});
