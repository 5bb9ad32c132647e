// ed25519 validator keys: consensus votes and proposals are signed with these, not with accounts.

import { ed25519 } from '@noble/curves/ed25519.js';
import { InvalidPrivateKeyError } from './errors.ts';

export type Ed25519KeyPair = { secretKey: Uint8Array; publicKey: Uint8Array };

function assertSecretKey(sk: Uint8Array): void {
  if (!(sk instanceof Uint8Array) || sk.length !== 32)
    throw new InvalidPrivateKeyError('ed25519 secret key must be 32 bytes');
}

export function ed25519GenerateKey(): Ed25519KeyPair {
  const { secretKey, publicKey } = ed25519.keygen();
  return { secretKey, publicKey };
}

export function ed25519PublicKey(sk: Uint8Array): Uint8Array {
  assertSecretKey(sk);
  return ed25519.getPublicKey(sk);
}

export function ed25519Sign(msg: Uint8Array, sk: Uint8Array): Uint8Array {
  assertSecretKey(sk);
  return ed25519.sign(msg, sk);
}

export type Ed25519FastVerify = (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => boolean;
let fastVerify: Ed25519FastVerify | undefined;

/**
 * Installs a faster verifier (node:crypto in Node, ~15x noble) consulted before the ZIP-215 check;
 * it may only ever say "valid" for signatures that are valid under RFC 8032.
 */
export function installFastEd25519Verify(fn: Ed25519FastVerify): void {
  fastVerify = fn;
}

function fastAccepts(fn: Ed25519FastVerify, sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return fn(sig, msg, pub);
  } catch {
    return false; // e.g. a key OpenSSL will not parse: ZIP-215 decides
  }
}

/**
 * Never throws: malformed input is simply not a valid signature. Pins ZIP-215 verification rules,
 * rules, the same acceptance set as CometBFT (ed25519consensus), so every validator agrees on
 * edge-case signatures instead of depending on library quirks.
 */
export function ed25519Verify(sig: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || !(msg instanceof Uint8Array) || !(pub instanceof Uint8Array))
    return false;
  if (sig.length !== 64 || pub.length !== 32) return false;
  try {
    // A signature valid under RFC 8032's cofactorless check is valid under ZIP-215's cofactored one
    // too, so a fast native "yes" never changes the answer; every "no" gets the ZIP-215 verdict.
    if (fastVerify && fastAccepts(fastVerify, sig, msg, pub)) return true;
    return ed25519.verify(sig, msg, pub, { zip215: true });
  } catch {
    return false;
  }
}
