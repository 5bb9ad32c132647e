// ed25519 validator keys: RFC 8032 vector, agreement with Node's OpenSSL, and a verify that never throws.

import assert from 'node:assert/strict';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { describe, it } from 'node:test';
import { ed25519 as nobleEd25519 } from '@noble/curves/ed25519.js';
import {
  bytesToHex,
  ed25519GenerateKey,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  hexToBytes,
  InvalidPrivateKeyError,
  utf8ToBytes,
} from '../src/index.node.ts';

// RFC 8032 section 7.1, TEST 1 (empty message).
const RFC_SK = hexToBytes('0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const RFC_PK = '0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const RFC_SIG =
  '0xe5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

/** Signs with OpenSSL through node:crypto, from a raw 32-byte seed (PKCS#8 wrapping). */
function opensslSign(msg: Uint8Array, sk: Uint8Array): Uint8Array {
  const pkcs8 = new Uint8Array([...hexToBytes('0x302e020100300506032b657004220420'), ...sk]);
  return new Uint8Array(
    nodeSign(null, msg, createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })),
  );
}

describe('ed25519', () => {
  it('the native fast path never changes a ZIP-215 verdict, on edge cases included', () => {
    const zip215 = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => {
      try {
        return nobleEd25519.verify(sig, msg, pub, { zip215: true });
      } catch {
        return false;
      }
    };
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral point, small order
    const nonCanonicalIdentity = identity.slice();
    nonCanonicalIdentity[31] = 0x80; // sign bit set on x = 0
    const yAboveP = new Uint8Array(32).fill(0xff);
    yAboveP[0] = 0xee; // y = 2^255 - 19 + ... : a non-canonical encoding
    yAboveP[31] = 0x7f;
    const { secretKey, publicKey } = ed25519GenerateKey();
    const msg = utf8ToBytes('precommit');
    const good = ed25519Sign(msg, secretKey);
    const cases: [Uint8Array, Uint8Array][] = [
      [good, publicKey],
      [new Uint8Array([...identity, ...new Uint8Array(32)]), identity],
      [new Uint8Array([...identity, ...new Uint8Array(32)]), nonCanonicalIdentity],
      [new Uint8Array([...nonCanonicalIdentity, ...new Uint8Array(32)]), identity],
      [new Uint8Array([...yAboveP, ...new Uint8Array(32)]), identity],
      [good, yAboveP],
      [new Uint8Array([...good.subarray(0, 32), ...new Uint8Array(32)]), publicKey],
    ];
    let differsFromStrict = 0;
    for (const [sig, pub] of cases) {
      assert.equal(ed25519Verify(sig, msg, pub), zip215(sig, msg, pub), bytesToHex(sig));
      if (zip215(sig, msg, pub) !== nobleEd25519.verify(sig, msg, pub, { zip215: false }).valueOf())
        differsFromStrict++;
    }
    // The cases do exercise signatures where ZIP-215 and strict RFC 8032 disagree.
    assert.ok(differsFromStrict > 0);
  });

  it('matches the RFC 8032 test vector', () => {
    assert.equal(bytesToHex(ed25519PublicKey(RFC_SK)), RFC_PK);
    assert.equal(bytesToHex(ed25519Sign(new Uint8Array(), RFC_SK)), RFC_SIG);
    assert.equal(ed25519Verify(hexToBytes(RFC_SIG), new Uint8Array(), hexToBytes(RFC_PK)), true);
  });

  it('signs exactly like OpenSSL for random keys and messages', () => {
    for (let i = 0; i < 20; i++) {
      const { secretKey, publicKey } = ed25519GenerateKey();
      assert.equal(secretKey.length, 32);
      assert.deepEqual(ed25519PublicKey(secretKey), publicKey);
      const msg = crypto.getRandomValues(new Uint8Array(i * 7));
      const sig = ed25519Sign(msg, secretKey);
      assert.equal(sig.length, 64);
      assert.deepEqual(sig, opensslSign(msg, secretKey));
      assert.equal(ed25519Verify(sig, msg, publicKey), true);
    }
  });

  it('rejects tampered messages, signatures and keys', () => {
    const { secretKey, publicKey } = ed25519GenerateKey();
    const msg = utf8ToBytes('prevote height=10 round=0');
    const sig = ed25519Sign(msg, secretKey);
    const flip = (b: Uint8Array, i: number) => {
      const c = b.slice();
      c[i]! ^= 1;
      return c;
    };
    assert.equal(ed25519Verify(sig, flip(msg, 3), publicKey), false);
    assert.equal(ed25519Verify(flip(sig, 0), msg, publicKey), false);
    assert.equal(ed25519Verify(flip(sig, 40), msg, publicKey), false);
    assert.equal(ed25519Verify(sig, msg, ed25519GenerateKey().publicKey), false);
  });

  it('returns false, never throws, on malformed input', () => {
    const { secretKey, publicKey } = ed25519GenerateKey();
    const msg = utf8ToBytes('m');
    const sig = ed25519Sign(msg, secretKey);
    const junk: [unknown, unknown, unknown][] = [
      [sig.subarray(0, 63), msg, publicKey],
      [new Uint8Array(65), msg, publicKey],
      [sig, msg, publicKey.subarray(1)],
      [sig, msg, new Uint8Array(32).fill(0xff)], // not a point
      [new Uint8Array(64).fill(0xff), msg, publicKey], // s >= L
      [bytesToHex(sig), msg, publicKey],
      [sig, 'm', publicKey],
      [null, msg, publicKey],
      [sig, msg, undefined],
    ];
    for (const [s, m, p] of junk) {
      assert.equal(ed25519Verify(s as Uint8Array, m as Uint8Array, p as Uint8Array), false);
    }
  });

  it('rejects a secret key of the wrong length', () => {
    assert.throws(() => ed25519Sign(new Uint8Array(1), new Uint8Array(31)), InvalidPrivateKeyError);
    assert.throws(() => ed25519PublicKey(new Uint8Array(64)), InvalidPrivateKeyError);
  });
});
