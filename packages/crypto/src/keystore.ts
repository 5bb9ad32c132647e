// Keystore v3 ("Web3 Secret Storage"): password-encrypted private keys, file-compatible with geth,
// ethers and MetaMask exports. Browser-safe: noble scrypt/pbkdf2 run async so the UI never freezes.

import { ctr } from '@noble/ciphers/aes.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from './bytes.ts';
import { InvalidPrivateKeyError, KeystoreError, WrongPasswordError } from './errors.ts';
import { keccak256 } from './hash.ts';
import { privateKeyToAddress } from './secp256k1.ts';

export type KeystoreScryptParams = { dklen: number; n: number; r: number; p: number; salt: string };
export type KeystorePbkdf2Params = { dklen: number; c: number; prf: 'hmac-sha256'; salt: string };

type KeystoreCryptoCommon = {
  cipher: 'aes-128-ctr';
  cipherparams: { iv: string };
  ciphertext: string;
  mac: string;
};

export type KeystoreV3 = {
  version: 3;
  id: string;
  /** Lower-case hex without 0x, as geth writes it; optional in files from other tools. */
  address?: string;
  crypto:
    | (KeystoreCryptoCommon & { kdf: 'scrypt'; kdfparams: KeystoreScryptParams })
    | (KeystoreCryptoCommon & { kdf: 'pbkdf2'; kdfparams: KeystorePbkdf2Params });
};

export type EncryptKeystoreOptions = {
  /** scrypt cost; geth's "standard" 262144 by default. Tests use 1024-4096. */
  scryptN?: number;
  /** Write the `address` field (default true); false hides which account the file holds. */
  address?: boolean;
};

// Limits on what a file may ask of us: a hostile keystore must not be able to make us allocate
// gigabytes or spin for minutes. Geth's strongest preset is n=2^18, r=8, p=1; these allow 16x that.
export const KEYSTORE_LIMITS = Object.freeze({
  scryptMaxN: 2 ** 20,
  scryptMaxR: 16,
  scryptMaxP: 16,
  scryptMaxMemoryBytes: 2 ** 30,
  scryptMaxWork: 2 ** 25, // n * r * p
  pbkdf2MaxC: 10_000_000,
  maxSaltBytes: 1024,
});

const DEFAULT_SCRYPT_N = 262_144;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const DKLEN = 32;

type KdfParams =
  | { kdf: 'scrypt'; n: number; r: number; p: number; salt: Uint8Array }
  | { kdf: 'pbkdf2'; c: number; salt: Uint8Array };

function checkScrypt(n: number, r: number, p: number, where: string): void {
  const int = (v: number, min: number, max: number) => Number.isSafeInteger(v) && v >= min && v <= max;
  if (!int(n, 2, KEYSTORE_LIMITS.scryptMaxN) || (n & (n - 1)) !== 0) {
    throw new KeystoreError(
      `${where}n must be a power of two in [2, ${KEYSTORE_LIMITS.scryptMaxN}], got ${n}`,
    );
  }
  if (!int(r, 1, KEYSTORE_LIMITS.scryptMaxR)) {
    throw new KeystoreError(`${where}r must be an integer in [1, ${KEYSTORE_LIMITS.scryptMaxR}], got ${r}`);
  }
  if (!int(p, 1, KEYSTORE_LIMITS.scryptMaxP)) {
    throw new KeystoreError(`${where}p must be an integer in [1, ${KEYSTORE_LIMITS.scryptMaxP}], got ${p}`);
  }
  if (128 * r * n > KEYSTORE_LIMITS.scryptMaxMemoryBytes) {
    throw new KeystoreError(`${where}n * r needs ${128 * r * n} bytes of memory, over the limit`);
  }
  if (n * r * p > KEYSTORE_LIMITS.scryptMaxWork)
    throw new KeystoreError(`${where}n * r * p is over the work limit`);
}

export type ScryptFn = (
  password: Uint8Array,
  salt: Uint8Array,
  opts: { N: number; r: number; p: number; dkLen: number; maxmem: number },
) => Promise<Uint8Array>;

let scryptImpl: ScryptFn = scryptAsync;

/**
 * Swaps in a faster scrypt with identical output. The Node entry installs OpenSSL's (node:crypto),
 * about ten times faster than pure JS and run off the main thread.
 */
export function installScrypt(fn: ScryptFn): void {
  scryptImpl = fn;
}

async function deriveKey(password: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  if (params.kdf === 'pbkdf2')
    return pbkdf2Async(sha256, password, params.salt, { c: params.c, dkLen: DKLEN });
  const { n, r, p } = params;
  return scryptImpl(password, params.salt, { N: n, r, p, dkLen: DKLEN, maxmem: 128 * r * (n + p) + 4096 });
}

function macOf(derivedKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return keccak256(concatBytes(derivedKey.subarray(16, 32), ciphertext));
}

/** Compares in time independent of where the inputs differ. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Password bytes to try. ethers NFKC-normalizes passwords, geth uses them as typed; writing NFKC
 * and reading both keeps files portable in either direction (they differ only for rare input).
 */
function passwordCandidates(password: string): Uint8Array[] {
  if (typeof password !== 'string') throw new KeystoreError('password must be a string');
  const nfkc = password.normalize('NFKC');
  return nfkc === password ? [utf8ToBytes(password)] : [utf8ToBytes(nfkc), utf8ToBytes(password)];
}

function uuidV4(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = bytesToHex(b).slice(2);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Encrypts a secp256k1 private key into a keystore v3 object (scrypt + aes-128-ctr, as geth). */
export async function encryptKeystore(
  sk: Uint8Array,
  password: string,
  opts: EncryptKeystoreOptions = {},
): Promise<KeystoreV3> {
  const address = privateKeyToAddress(sk); // also validates the key
  const n = opts.scryptN ?? DEFAULT_SCRYPT_N;
  checkScrypt(n, SCRYPT_R, SCRYPT_P, 'scryptN: ');
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const derivedKey = await deriveKey(passwordCandidates(password)[0]!, {
    kdf: 'scrypt',
    n,
    r: SCRYPT_R,
    p: SCRYPT_P,
    salt,
  });
  const ciphertext = ctr(derivedKey.subarray(0, 16), iv).encrypt(sk);
  const crypto: KeystoreV3['crypto'] = {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: bytesToHex(iv).slice(2) },
    ciphertext: bytesToHex(ciphertext).slice(2),
    kdf: 'scrypt',
    kdfparams: { dklen: DKLEN, n, r: SCRYPT_R, p: SCRYPT_P, salt: bytesToHex(salt).slice(2) },
    mac: bytesToHex(macOf(derivedKey, ciphertext)).slice(2),
  };
  const id = uuidV4();
  if (opts.address === false) return { version: 3, id, crypto };
  return { version: 3, id, address: address.slice(2).toLowerCase(), crypto };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Hex field, with or without 0x (both appear in the wild). */
function hexField(value: unknown, field: string, length?: number): Uint8Array {
  if (typeof value !== 'string') throw new KeystoreError(`${field} must be a hex string`);
  const hex = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : value;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new KeystoreError(`${field} is not valid hex`);
  const bytes = hexToBytes(`0x${hex}`);
  if (length !== undefined && bytes.length !== length) {
    throw new KeystoreError(`${field} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function numberField(params: Record<string, unknown>, key: string, where: string): number {
  const v = params[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new KeystoreError(`${where}.${key} must be an integer`);
  return v;
}

function parseKdf(c: Record<string, unknown>): KdfParams {
  const params = c.kdfparams;
  if (!isObject(params)) throw new KeystoreError('crypto.kdfparams must be an object');
  const dklen = numberField(params, 'dklen', 'crypto.kdfparams');
  if (dklen !== DKLEN) throw new KeystoreError(`crypto.kdfparams.dklen must be ${DKLEN}, got ${dklen}`);
  const salt = hexField(params.salt, 'crypto.kdfparams.salt');
  if (salt.length > KEYSTORE_LIMITS.maxSaltBytes)
    throw new KeystoreError('crypto.kdfparams.salt is too long');
  if (c.kdf === 'scrypt') {
    const n = numberField(params, 'n', 'crypto.kdfparams');
    const r = numberField(params, 'r', 'crypto.kdfparams');
    const p = numberField(params, 'p', 'crypto.kdfparams');
    checkScrypt(n, r, p, 'crypto.kdfparams.');
    return { kdf: 'scrypt', n, r, p, salt };
  }
  if (c.kdf === 'pbkdf2') {
    if (params.prf !== 'hmac-sha256') {
      throw new KeystoreError(`crypto.kdfparams.prf must be hmac-sha256, got ${String(params.prf)}`);
    }
    const iterations = numberField(params, 'c', 'crypto.kdfparams');
    if (iterations < 1 || iterations > KEYSTORE_LIMITS.pbkdf2MaxC) {
      throw new KeystoreError(
        `crypto.kdfparams.c must be in [1, ${KEYSTORE_LIMITS.pbkdf2MaxC}], got ${iterations}`,
      );
    }
    return { kdf: 'pbkdf2', c: iterations, salt };
  }
  throw new KeystoreError(`unsupported crypto.kdf: ${String(c.kdf)} (want scrypt or pbkdf2)`);
}

/** Decrypts a keystore v3 file (object or JSON text) to its 32-byte private key. */
export async function decryptKeystore(json: unknown, password: string): Promise<Uint8Array> {
  let obj = json;
  if (typeof json === 'string') {
    try {
      obj = JSON.parse(json);
    } catch (cause) {
      throw new KeystoreError('keystore is not valid JSON', { cause });
    }
  }
  if (!isObject(obj)) throw new KeystoreError('keystore must be a JSON object');
  if (obj.version !== 3)
    throw new KeystoreError(`unsupported keystore version: ${String(obj.version)} (want 3)`);
  // Some older wallets (MyEtherWallet) wrote "Crypto".
  const c = obj.crypto ?? obj.Crypto;
  if (!isObject(c)) throw new KeystoreError('crypto must be an object');
  if (c.cipher !== 'aes-128-ctr') throw new KeystoreError(`unsupported crypto.cipher: ${String(c.cipher)}`);
  if (!isObject(c.cipherparams)) throw new KeystoreError('crypto.cipherparams must be an object');
  const iv = hexField(c.cipherparams.iv, 'crypto.cipherparams.iv', 16);
  const ciphertext = hexField(c.ciphertext, 'crypto.ciphertext', 32);
  const mac = hexField(c.mac, 'crypto.mac', 32);
  const kdf = parseKdf(c);
  if (obj.address !== undefined && typeof obj.address !== 'string')
    throw new KeystoreError('address must be a string');

  for (const pw of passwordCandidates(password)) {
    const derivedKey = await deriveKey(pw, kdf);
    if (!constantTimeEqual(macOf(derivedKey, ciphertext), mac)) continue;
    const sk = ctr(derivedKey.subarray(0, 16), iv).decrypt(ciphertext);
    let address: string;
    try {
      address = privateKeyToAddress(sk);
    } catch (cause) {
      if (cause instanceof InvalidPrivateKeyError) {
        throw new KeystoreError('decrypted key is not a valid secp256k1 private key', { cause });
      }
      throw cause;
    }
    if (
      typeof obj.address === 'string' &&
      obj.address !== '' &&
      obj.address.replace(/^0x/i, '').toLowerCase() !== address.slice(2).toLowerCase()
    ) {
      throw new KeystoreError(`address field ${obj.address} does not match the decrypted key (${address})`);
    }
    return sk;
  }
  throw new WrongPasswordError();
}
