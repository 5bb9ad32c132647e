// secp256k1 accounts (Ethereum compatible): keys, deterministic low-s signing, and address recovery
// with a pluggable backend so Node can use native libsecp256k1 while browsers stay on @noble/curves.

import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type Address, rawPublicKeyToAddress } from './address.ts';
import {
  CryptoError,
  InvalidPrivateKeyError,
  InvalidPublicKeyError,
  InvalidSignatureError,
} from './errors.ts';

export type Secp256k1BackendName = 'native' | 'noble';

/** Recovers the 65-byte uncompressed public key, or null when no key fits. Inputs are pre-validated. */
export type RecoverPublicKeyFn = (digest32: Uint8Array, rs64: Uint8Array, recid: 0 | 1) => Uint8Array | null;

// Big-endian curve order n and floor(n/2): compared as bytes so validation allocates no bigints.
const N_BYTES = Uint8Array.from([
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae,
  0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);
const HALF_N_BYTES = Uint8Array.from([
  0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5d, 0x57,
  0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

/** Compares the 32 bytes of `a` starting at `offset` with `b` (big-endian numbers). */
function cmp32(a: Uint8Array, offset: number, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = a[offset + i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function isZero32(a: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (a[offset + i] !== 0) return false;
  return true;
}

const recoverNoble: RecoverPublicKeyFn = (digest32, rs64, recid) => {
  try {
    return secp256k1.Signature.fromBytes(rs64, 'compact')
      .addRecoveryBit(recid)
      .recoverPublicKey(digest32)
      .toBytes(false);
  } catch {
    return null;
  }
};

let recoverNative: RecoverPublicKeyFn | null = null;

/**
 * Installs the native recovery function. Called once by the Node entry (index.node.ts); kept out of
 * the public index so application code cannot swap consensus-critical crypto at run time.
 */
export function installNativeSecp256k1(fn: RecoverPublicKeyFn): void {
  recoverNative = fn;
}

/** Which implementation `recoverAddress` uses in this process. */
export function secp256k1Backend(): Secp256k1BackendName {
  return recoverNative ? 'native' : 'noble';
}

export function generatePrivateKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

function assertPrivateKey(sk: Uint8Array): void {
  if (!(sk instanceof Uint8Array) || sk.length !== 32 || !secp256k1.utils.isValidSecretKey(sk)) {
    throw new InvalidPrivateKeyError('private key must be 32 bytes in [1, n-1]');
  }
}

/** 65-byte uncompressed public key (0x04 || x || y). */
export function privateKeyToPublicKey(sk: Uint8Array): Uint8Array {
  assertPrivateKey(sk);
  return secp256k1.getPublicKey(sk, false);
}

export function privateKeyToAddress(sk: Uint8Array): Address {
  return rawPublicKeyToAddress(privateKeyToPublicKey(sk).subarray(1));
}

/** Address of a public key; accepts 65-byte uncompressed or 33-byte compressed SEC1 encodings. */
export function publicKeyToAddress(pub: Uint8Array): Address {
  if (!(pub instanceof Uint8Array) || (pub.length !== 65 && pub.length !== 33)) {
    throw new InvalidPublicKeyError('public key must be 65 bytes (uncompressed) or 33 bytes (compressed)');
  }
  let uncompressed: Uint8Array;
  try {
    // Decoding checks the point is on the curve, so an address is never derived from garbage.
    uncompressed = secp256k1.Point.fromBytes(pub).toBytes(false);
  } catch (cause) {
    throw new InvalidPublicKeyError('public key is not a valid secp256k1 point', { cause });
  }
  return rawPublicKeyToAddress(uncompressed.subarray(1));
}

/** Signs a 32-byte digest: r(32) || s(32) || v(1) with v in {27, 28}, low-s, RFC 6979 nonce. */
export function signDigest(digest32: Uint8Array, sk: Uint8Array): Uint8Array {
  if (!(digest32 instanceof Uint8Array) || digest32.length !== 32) {
    throw new InvalidSignatureError('digest must be 32 bytes');
  }
  assertPrivateKey(sk);
  const recovered = secp256k1.sign(digest32, sk, { prehash: false, lowS: true, format: 'recovered' });
  const out = new Uint8Array(65);
  out.set(recovered.subarray(1, 65), 0);
  out[64] = 27 + recovered[0]!;
  return out;
}

/** Checks everything both backends must agree on, so they differ only in speed. Returns recid. */
function validate(digest32: Uint8Array, sig65: Uint8Array): 0 | 1 {
  if (!(digest32 instanceof Uint8Array) || digest32.length !== 32) {
    throw new InvalidSignatureError('digest must be 32 bytes');
  }
  if (!(sig65 instanceof Uint8Array) || sig65.length !== 65) {
    throw new InvalidSignatureError(
      `signature must be 65 bytes (r || s || v), got ${sig65 instanceof Uint8Array ? sig65.length : typeof sig65}`,
    );
  }
  const v = sig65[64]!;
  let recid: 0 | 1;
  if (v === 27 || v === 0) recid = 0;
  else if (v === 28 || v === 1) recid = 1;
  else throw new InvalidSignatureError(`signature v must be 27, 28, 0 or 1, got ${v}`);
  if (isZero32(sig65, 0) || cmp32(sig65, 0, N_BYTES) >= 0)
    throw new InvalidSignatureError('signature r out of range');
  if (isZero32(sig65, 32)) throw new InvalidSignatureError('signature s out of range');
  // High-s signatures are valid ECDSA but a second encoding of the same signature; accepting them
  // would let anyone change a transaction's signature bytes (and so its hash) without the key.
  if (cmp32(sig65, 32, HALF_N_BYTES) > 0) throw new InvalidSignatureError('signature s is high (malleable)');
  return recid;
}

function recoverWith(fn: RecoverPublicKeyFn, digest32: Uint8Array, sig65: Uint8Array): Uint8Array {
  const recid = validate(digest32, sig65);
  const pub = fn(digest32, sig65.subarray(0, 64), recid);
  if (pub === null) throw new InvalidSignatureError('signature does not recover to a public key');
  return pub;
}

function backendFn(backend: Secp256k1BackendName): RecoverPublicKeyFn {
  if (backend === 'noble') return recoverNoble;
  if (backend === 'native' && recoverNative) return recoverNative;
  throw new CryptoError('BACKEND_UNAVAILABLE', `secp256k1 backend not available here: ${backend}`);
}

/** 65-byte uncompressed public key that produced `sig65` over `digest32`. */
export function recoverPublicKey(digest32: Uint8Array, sig65: Uint8Array): Uint8Array {
  return recoverWith(recoverNative ?? recoverNoble, digest32, sig65);
}

export function recoverAddress(digest32: Uint8Array, sig65: Uint8Array): Address {
  return rawPublicKeyToAddress(recoverWith(recoverNative ?? recoverNoble, digest32, sig65).subarray(1));
}

/** `recoverAddress` on a named backend: for tests and benchmarks that compare the two. */
export function recoverAddressWith(
  backend: Secp256k1BackendName,
  digest32: Uint8Array,
  sig65: Uint8Array,
): Address {
  return rawPublicKeyToAddress(recoverWith(backendFn(backend), digest32, sig65).subarray(1));
}
