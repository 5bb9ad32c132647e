// Accounts: EIP-55 addresses, secp256k1 keys, ethers agreement, both recovery backends, malleability rules.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { getAddress, SigningKey } from 'ethers';
import {
  addressToBytes,
  bytesToAddress,
  bytesToHex,
  CryptoError,
  generatePrivateKey,
  hexToBytes,
  InvalidAddressError,
  InvalidPrivateKeyError,
  InvalidPublicKeyError,
  InvalidSignatureError,
  isAddress,
  keccak256,
  privateKeyToAddress,
  privateKeyToPublicKey,
  publicKeyToAddress,
  recoverAddress,
  recoverAddressWith,
  recoverPublicKey,
  secp256k1Backend,
  signDigest,
  toChecksumAddress,
  utf8ToBytes,
} from '../src/index.node.ts';

// From EIP-55 itself (including the all-caps and all-lower cases, which are their own checksum).
const EIP55 = [
  '0x52908400098527886E0F7030069857D2E4169EE7',
  '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
  '0xde709f2102306220921060314715629080e2fb77',
  '0x27b1fdb04752bbc536007a920d24acb045561c26',
  '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
  '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
  '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
];

const isInvalidAddress = (e: unknown) => e instanceof InvalidAddressError && e.code === 'INVALID_ADDRESS';

// Hardhat/Anvil account #0.
const SK0 = hexToBytes('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const ADDR0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const N = secp256k1.Point.CURVE().n;
const HALF_N = N >> 1n;

const to32 = (v: bigint) => hexToBytes(`0x${v.toString(16).padStart(64, '0')}`);
const withS = (sig: Uint8Array, s: bigint, v = sig[64]!) => {
  const out = sig.slice();
  out.set(to32(s), 32);
  out[64] = v;
  return out;
};
const sOf = (sig: Uint8Array) => BigInt(bytesToHex(sig.subarray(32, 64)));
const isInvalidSig = (e: unknown) => e instanceof InvalidSignatureError && e.code === 'INVALID_SIGNATURE';
const BACKENDS = ['native', 'noble'] as const;

describe('addresses', () => {
  it('checksums the EIP-55 vectors from any case', () => {
    for (const a of EIP55) {
      assert.equal(toChecksumAddress(a.toLowerCase()), a);
      assert.equal(toChecksumAddress(`0x${a.slice(2).toUpperCase()}`), a);
      assert.equal(toChecksumAddress(a), a);
      assert.equal(isAddress(a), true);
    }
  });

  it('agrees with ethers getAddress on random addresses', () => {
    for (let i = 0; i < 200; i++) {
      const raw = bytesToHex(crypto.getRandomValues(new Uint8Array(20)));
      assert.equal(toChecksumAddress(raw), getAddress(raw));
      assert.equal(bytesToAddress(addressToBytes(raw)), getAddress(raw));
    }
  });

  it('isAddress accepts single-case input and rejects a wrong checksum', () => {
    const good = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
    const badChecksum = '0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
    assert.equal(isAddress(good.toLowerCase()), true);
    assert.equal(isAddress(`0x${good.slice(2).toUpperCase()}`), true);
    assert.equal(isAddress(badChecksum), false);
    for (const bad of [
      good.slice(2),
      `${good}00`,
      good.slice(0, 41),
      '0xZZaeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      42,
      null,
      undefined,
      {},
    ]) {
      assert.equal(isAddress(bad), false, String(bad));
    }
    assert.throws(() => toChecksumAddress(badChecksum), isInvalidAddress);
    assert.throws(() => toChecksumAddress('0x1234'), isInvalidAddress);
    assert.throws(() => toChecksumAddress(good.slice(2)), isInvalidAddress);
    assert.throws(() => addressToBytes(badChecksum), isInvalidAddress);
  });

  it('converts between bytes and addresses', () => {
    const a = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
    const b = addressToBytes(a);
    assert.equal(b.length, 20);
    assert.equal(bytesToHex(b), a.toLowerCase());
    assert.equal(bytesToAddress(b), a);
    assert.throws(() => bytesToAddress(new Uint8Array(19)), isInvalidAddress);
    assert.throws(() => bytesToAddress(new Uint8Array(32)), isInvalidAddress);
  });
});

describe('secp256k1 keys', () => {
  it('derives the Hardhat account #0 address and public key', () => {
    assert.equal(privateKeyToAddress(SK0), ADDR0);
    const pub = privateKeyToPublicKey(SK0);
    assert.equal(pub.length, 65);
    assert.equal(pub[0], 4);
    assert.equal(publicKeyToAddress(pub), ADDR0);
    assert.equal(publicKeyToAddress(secp256k1.getPublicKey(SK0, true)), ADDR0);
  });

  it('generates distinct valid keys', () => {
    const a = generatePrivateKey();
    const b = generatePrivateKey();
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, b);
    assert.match(privateKeyToAddress(a), /^0x[0-9a-fA-F]{40}$/);
  });

  it('rejects invalid private and public keys', () => {
    for (const bad of [new Uint8Array(32), to32(N), new Uint8Array(31)]) {
      assert.throws(
        () => privateKeyToAddress(bad),
        (e: unknown) => e instanceof InvalidPrivateKeyError,
      );
      assert.throws(() => signDigest(new Uint8Array(32), bad), InvalidPrivateKeyError);
    }
    const pub = privateKeyToPublicKey(SK0);
    const offCurve = pub.slice();
    offCurve[64] ^= 1;
    assert.throws(
      () => publicKeyToAddress(offCurve),
      (e: unknown) => e instanceof InvalidPublicKeyError,
    );
    assert.throws(() => publicKeyToAddress(pub.subarray(1)), InvalidPublicKeyError);
  });
});

describe('signDigest / recoverAddress', () => {
  it('uses the native backend in Node', () => {
    assert.equal(secp256k1Backend(), 'native');
  });

  it('signs exactly like ethers (RFC 6979, low-s, v = 27/28)', () => {
    for (let i = 0; i < 20; i++) {
      const sk = generatePrivateKey();
      const digest = keccak256(utf8ToBytes(`message ${i}`));
      const sig = signDigest(digest, sk);
      assert.equal(sig.length, 65);
      assert.ok(sig[64] === 27 || sig[64] === 28);
      assert.ok(sOf(sig) <= HALF_N);
      assert.equal(bytesToHex(sig), new SigningKey(bytesToHex(sk)).sign(digest).serialized);
      assert.deepEqual(signDigest(digest, sk), sig, 'deterministic');
    }
  });

  it('recovers the signer on both backends, with identical results', () => {
    for (let i = 0; i < 40; i++) {
      const sk = generatePrivateKey();
      const digest = crypto.getRandomValues(new Uint8Array(32));
      const sig = signDigest(digest, sk);
      const expected = privateKeyToAddress(sk);
      assert.equal(recoverAddress(digest, sig), expected);
      for (const b of BACKENDS) assert.equal(recoverAddressWith(b, digest, sig), expected);
      // v = 0/1 is the same signature.
      const v01 = sig.slice();
      v01[64] -= 27;
      assert.equal(recoverAddress(digest, v01), expected);
    }
    const digest = keccak256(utf8ToBytes('hello'));
    assert.deepEqual(recoverPublicKey(digest, signDigest(digest, SK0)), privateKeyToPublicKey(SK0));
  });

  it('backends agree on arbitrary (r, s, v): same address or both reject', () => {
    let recovered = 0;
    for (let i = 0; i < 100; i++) {
      const sig = crypto.getRandomValues(new Uint8Array(65));
      sig[32] &= 0x7f; // keep s low so the random case reaches recovery
      sig[64] = 27 + (i & 1);
      const digest = crypto.getRandomValues(new Uint8Array(32));
      const results = BACKENDS.map((b) => {
        try {
          return recoverAddressWith(b, digest, sig);
        } catch (e) {
          assert.ok(isInvalidSig(e));
          return 'rejected';
        }
      });
      assert.equal(results[0], results[1]);
      if (results[0] !== 'rejected') recovered++;
    }
    assert.ok(recovered > 20, `most random low-s signatures recover some key (got ${recovered})`);
  });

  it('handles digests at the edges (0 and >= n, which ECDSA reduces mod n) identically', () => {
    for (const digest of [new Uint8Array(32), new Uint8Array(32).fill(0xff), to32(N), to32(N + 1n)]) {
      const sig = signDigest(digest, SK0);
      for (const b of BACKENDS) assert.equal(recoverAddressWith(b, digest, sig), ADDR0);
    }
    // n + 1 reduces to 1, so a signature over digest 1 is also valid for digest n + 1.
    assert.equal(recoverAddressWith('native', to32(N + 1n), signDigest(to32(1n), SK0)), ADDR0);
    assert.equal(recoverAddressWith('noble', to32(N + 1n), signDigest(to32(1n), SK0)), ADDR0);
  });

  it('a tampered digest or signature recovers a different address', () => {
    const digest = keccak256(utf8ToBytes('transfer 10 CGPT'));
    const sig = signDigest(digest, SK0);
    const tampered = digest.slice();
    tampered[0] ^= 1;
    for (const b of BACKENDS) {
      assert.notEqual(recoverAddressWith(b, tampered, sig), ADDR0);
      const flippedV = sig.slice();
      flippedV[64] = sig[64] === 27 ? 28 : 27;
      assert.notEqual(recoverAddressWith(b, digest, flippedV), ADDR0);
    }
  });

  it('rejects high-s (malleable) twins of valid signatures', () => {
    const digest = keccak256(utf8ToBytes('pay once'));
    const sig = signDigest(digest, SK0);
    const twin = withS(sig, N - sOf(sig), sig[64] === 27 ? 28 : 27);
    // The twin is a valid ECDSA signature for the same key...
    const noblePub = secp256k1.Signature.fromBytes(twin.subarray(0, 64), 'compact')
      .addRecoveryBit(twin[64]! - 27)
      .recoverPublicKey(digest)
      .toBytes(false);
    assert.equal(publicKeyToAddress(noblePub), ADDR0);
    // ...so accepting it would let anyone re-encode a transaction.
    assert.throws(() => recoverAddress(digest, twin), isInvalidSig);
    for (const b of BACKENDS) assert.throws(() => recoverAddressWith(b, digest, twin), /high/);
  });

  it('accepts s = n/2 exactly and rejects s = n/2 + 1', () => {
    const digest = keccak256(utf8ToBytes('boundary'));
    const sig = signDigest(digest, SK0);
    const atHalf = withS(sig, HALF_N);
    const a = recoverAddressWith('native', digest, atHalf);
    assert.equal(recoverAddressWith('noble', digest, atHalf), a);
    for (const b of BACKENDS)
      assert.throws(() => recoverAddressWith(b, digest, withS(sig, HALF_N + 1n)), isInvalidSig);
  });

  it('rejects bad length, bad v, and r/s out of range', () => {
    const digest = keccak256(utf8ToBytes('x'));
    const sig = signDigest(digest, SK0);
    const cases: [string, Uint8Array, Uint8Array, RegExp][] = [
      ['64-byte sig', digest, sig.subarray(0, 64), /65 bytes/],
      ['66-byte sig', digest, new Uint8Array([...sig, 0]), /65 bytes/],
      ['31-byte digest', digest.subarray(1), sig, /digest/],
      [
        'r = 0',
        digest,
        (() => {
          const s = sig.slice();
          s.fill(0, 0, 32);
          return s;
        })(),
        /r out of range/,
      ],
      [
        'r = n',
        digest,
        (() => {
          const s = sig.slice();
          s.set(to32(N), 0);
          return s;
        })(),
        /r out of range/,
      ],
      ['s = 0', digest, withS(sig, 0n), /s out of range/],
      ['s = n', digest, withS(sig, N), /high/],
    ];
    for (const v of [2, 3, 26, 29, 35, 255]) {
      const s = sig.slice();
      s[64] = v;
      cases.push([`v = ${v}`, digest, s, /v must be/]);
    }
    for (const [label, d, s, re] of cases) {
      for (const b of BACKENDS) {
        assert.throws(
          () => recoverAddressWith(b, d, s),
          (e: unknown) => isInvalidSig(e) && re.test((e as Error).message),
          `${label} on ${b}`,
        );
      }
    }
  });

  it('rejects an r that is not the x-coordinate of any point, on both backends', () => {
    let r = 1n;
    for (; ; r++) {
      try {
        secp256k1.Point.fromBytes(hexToBytes(`0x02${r.toString(16).padStart(64, '0')}`));
      } catch {
        break;
      }
    }
    const sig = new Uint8Array(65);
    sig.set(to32(r), 0);
    sig.set(to32(12345n), 32);
    sig[64] = 27;
    for (const b of BACKENDS) {
      assert.throws(() => recoverAddressWith(b, new Uint8Array(32).fill(1), sig), /does not recover/);
    }
  });

  it('errors are CryptoErrors with stable codes', () => {
    try {
      recoverAddress(new Uint8Array(32), new Uint8Array(10));
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof CryptoError);
      assert.ok(e instanceof Error);
      assert.equal(e.code, 'INVALID_SIGNATURE');
      assert.equal(e.name, 'InvalidSignatureError');
    }
  });
});
