// Keystore v3: round trips with ethers, the Web3 Secret Storage pbkdf2 vector, and typed failures.

import assert from 'node:assert/strict';
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { encryptKeystoreJson, Wallet } from 'ethers';
import {
  bytesToHex,
  decryptKeystore,
  encryptKeystore,
  generatePrivateKey,
  hexToBytes,
  InvalidPrivateKeyError,
  KeystoreError,
  type KeystoreV3,
  keccak256,
  privateKeyToAddress,
  WrongPasswordError,
} from '../src/index.node.ts';

const N = 1024; // keeps each scrypt run to a few milliseconds

/** A keystore as a hostile or broken file may shape it: every field optional and untyped. */
type LooseCrypto = {
  cipher?: unknown;
  cipherparams?: { iv?: unknown };
  ciphertext?: unknown;
  mac?: unknown;
  kdf?: unknown;
  kdfparams?: Record<string, unknown>;
};
type LooseKeystore = { version?: unknown; address?: unknown; crypto?: LooseCrypto };

const isKeystoreError = (re: RegExp) => (e: unknown) =>
  e instanceof KeystoreError && e.code === 'KEYSTORE' && re.test(e.message);
const isWrongPassword = (e: unknown) => e instanceof WrongPasswordError && e.code === 'WRONG_PASSWORD';

// From the Web3 Secret Storage definition (ethereum.org), PBKDF2-SHA-256 test vector.
const SPEC_PBKDF2 = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};
const SPEC_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';

/** A pbkdf2 keystore built with OpenSSL primitives, independent of our code path. */
function opensslPbkdf2Keystore(sk: Uint8Array, password: string, c: number) {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const dk = pbkdf2Sync(password, salt, c, 32, 'sha256');
  const cipher = createCipheriv('aes-128-ctr', dk.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(sk), cipher.final()]);
  const mac = keccak256(new Uint8Array(Buffer.concat([dk.subarray(16, 32), ciphertext])));
  return {
    version: 3,
    id: 'b7a6c5e4-0000-4000-8000-000000000000',
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: ciphertext.toString('hex'),
      kdf: 'pbkdf2',
      kdfparams: { c, dklen: 32, prf: 'hmac-sha256', salt: `0x${salt.toString('hex')}` },
      mac: bytesToHex(mac).slice(2),
    },
  };
}

describe('keystore v3', () => {
  it('writes geth-shaped files', async () => {
    const sk = generatePrivateKey();
    const ks = await encryptKeystore(sk, 'pw', { scryptN: N });
    assert.equal(ks.version, 3);
    assert.match(ks.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(ks.address, privateKeyToAddress(sk).slice(2).toLowerCase());
    assert.equal(ks.crypto.cipher, 'aes-128-ctr');
    assert.equal(ks.crypto.kdf, 'scrypt');
    assert.deepEqual(
      { ...ks.crypto.kdfparams, salt: undefined },
      { dklen: 32, n: N, r: 8, p: 1, salt: undefined },
    );
    assert.match(ks.crypto.kdfparams.salt, /^[0-9a-f]{64}$/);
    assert.match(ks.crypto.cipherparams.iv, /^[0-9a-f]{32}$/);
    assert.match(ks.crypto.ciphertext, /^[0-9a-f]{64}$/);
    assert.match(ks.crypto.mac, /^[0-9a-f]{64}$/);
    assert.equal((await encryptKeystore(sk, 'pw', { scryptN: N, address: false })).address, undefined);
    assert.deepEqual(await decryptKeystore(ks, 'pw'), sk);
    assert.deepEqual(await decryptKeystore(JSON.stringify(ks), 'pw'), sk);
  });

  it('decrypts files written by ethers', async () => {
    for (const password of ['correct horse', 'pässwörd ✓']) {
      const sk = generatePrivateKey();
      const address = privateKeyToAddress(sk);
      const json = await encryptKeystoreJson({ address, privateKey: bytesToHex(sk) }, password, {
        scrypt: { N },
      });
      assert.deepEqual(await decryptKeystore(json, password), sk);
    }
  });

  it('writes files that ethers decrypts', async () => {
    for (const password of ['correct horse', 'pässwörd ✓', '']) {
      const sk = generatePrivateKey();
      const ks = await encryptKeystore(sk, password, { scryptN: N });
      const wallet = await Wallet.fromEncryptedJson(JSON.stringify(ks), password);
      assert.equal(wallet.address, privateKeyToAddress(sk));
      assert.equal(wallet.privateKey, bytesToHex(sk));
    }
  });

  it('reads an NFKC-equivalent password either way (ethers normalizes, geth does not)', async () => {
    const sk = generatePrivateKey();
    const decomposed = 'cafe\u0301'; // "café" with a combining accent; NFKC composes it
    const ks = await encryptKeystore(sk, decomposed, { scryptN: N });
    assert.deepEqual(await decryptKeystore(ks, decomposed), sk);
    assert.deepEqual(await decryptKeystore(ks, 'caf\u00e9'), sk);
    assert.equal(
      (await Wallet.fromEncryptedJson(JSON.stringify(ks), decomposed)).address,
      privateKeyToAddress(sk),
    );
  });

  it('decrypts the Web3 Secret Storage pbkdf2 test vector', async () => {
    assert.equal(bytesToHex(await decryptKeystore(SPEC_PBKDF2, 'testpassword')), SPEC_KEY);
  });

  it('decrypts a pbkdf2 file built with OpenSSL primitives', async () => {
    const sk = generatePrivateKey();
    assert.deepEqual(await decryptKeystore(opensslPbkdf2Keystore(sk, 'hunter2', 1000), 'hunter2'), sk);
  });

  it('wrong password or tampered ciphertext/mac gives WrongPasswordError', async () => {
    const sk = generatePrivateKey();
    const ks = await encryptKeystore(sk, 'right', { scryptN: N });
    await assert.rejects(decryptKeystore(ks, 'wrong'), isWrongPassword);
    const flipHex = (h: string) => `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}`;
    const tamperedCipher = structuredClone(ks);
    tamperedCipher.crypto.ciphertext = flipHex(ks.crypto.ciphertext);
    await assert.rejects(decryptKeystore(tamperedCipher, 'right'), isWrongPassword);
    const tamperedMac = structuredClone(ks);
    tamperedMac.crypto.mac = flipHex(ks.crypto.mac);
    await assert.rejects(decryptKeystore(tamperedMac, 'right'), isWrongPassword);
    const tamperedSalt = structuredClone(ks);
    tamperedSalt.crypto.kdfparams.salt = flipHex(ks.crypto.kdfparams.salt);
    await assert.rejects(decryptKeystore(tamperedSalt, 'right'), isWrongPassword);
  });

  it('rejects malformed, unsupported and hostile files with KeystoreError naming the field', async () => {
    const ks = await encryptKeystore(generatePrivateKey(), 'pw', { scryptN: N });
    const edit = (f: (k: LooseKeystore, c: LooseCrypto, p: Record<string, unknown>) => void): unknown => {
      const copy = structuredClone(ks) as unknown as LooseKeystore;
      f(copy, copy.crypto!, copy.crypto!.kdfparams!);
      return copy;
    };
    const cases: [unknown, RegExp][] = [
      ['{not json', /not valid JSON/],
      ['[]', /must be a JSON object/],
      [null, /must be a JSON object/],
      [edit((k) => (k.version = 4)), /version: 4/],
      [edit((k) => delete k.crypto), /crypto must be an object/],
      [edit((_k, c) => (c.cipher = 'aes-256-gcm')), /crypto\.cipher: aes-256-gcm/],
      [edit((_k, c) => (c.cipherparams!.iv = 'abcd')), /crypto\.cipherparams\.iv must be 16 bytes/],
      [edit((_k, c) => (c.ciphertext = 'zz')), /crypto\.ciphertext is not valid hex/],
      [edit((_k, c) => (c.ciphertext = `${c.ciphertext}00`)), /crypto\.ciphertext must be 32 bytes/],
      [edit((_k, c) => (c.mac = 42)), /crypto\.mac must be a hex string/],
      [edit((_k, c) => (c.kdf = 'argon2')), /unsupported crypto\.kdf: argon2/],
      [edit((_k, c) => delete c.kdfparams), /crypto\.kdfparams must be an object/],
      [edit((_k, _c, p) => (p.dklen = 64)), /dklen must be 32/],
      [edit((_k, _c, p) => (p.n = 1000)), /n must be a power of two/],
      [edit((_k, _c, p) => (p.n = 2 ** 21)), /n must be a power of two/],
      [edit((_k, _c, p) => (p.n = 2 ** 40)), /n must be a power of two/],
      [edit((_k, _c, p) => (p.r = 1000)), /r must be an integer/],
      [edit((_k, _c, p) => (p.p = 1e6)), /p must be an integer/],
      [edit((_k, _c, p) => Object.assign(p, { n: 2 ** 20, r: 16 })), /memory/],
      [edit((_k, _c, p) => Object.assign(p, { n: 2 ** 20, r: 8, p: 16 })), /work limit/],
      [edit((_k, _c, p) => (p.n = '1024')), /n must be an integer/],
      [edit((_k, _c, p) => (p.salt = 'ab'.repeat(2000))), /salt is too long/],
      [edit((k) => (k.address = 5)), /address must be a string/],
    ];
    const pbkdf2 = opensslPbkdf2Keystore(generatePrivateKey(), 'pw', 10);
    const editPbkdf2 = (params: Record<string, unknown>) => ({
      ...pbkdf2,
      crypto: { ...pbkdf2.crypto, kdfparams: { ...pbkdf2.crypto.kdfparams, ...params } },
    });
    cases.push(
      [editPbkdf2({ c: 1e9 }), /kdfparams\.c must be in/],
      [editPbkdf2({ prf: 'hmac-sha1' }), /prf must be hmac-sha256/],
    );
    for (const [json, re] of cases)
      await assert.rejects(decryptKeystore(json, 'pw'), isKeystoreError(re), re.source);
  });

  it('rejects a file whose address does not match its key', async () => {
    const ks: KeystoreV3 = await encryptKeystore(generatePrivateKey(), 'pw', { scryptN: N });
    ks.address = privateKeyToAddress(generatePrivateKey()).slice(2).toLowerCase();
    await assert.rejects(decryptKeystore(ks, 'pw'), isKeystoreError(/does not match/));
  });

  it('validates encrypt inputs', async () => {
    await assert.rejects(encryptKeystore(new Uint8Array(32), 'pw', { scryptN: N }), InvalidPrivateKeyError);
    await assert.rejects(
      encryptKeystore(generatePrivateKey(), 'pw', { scryptN: 1000 }),
      isKeystoreError(/power of two/),
    );
    await assert.rejects(
      encryptKeystore(generatePrivateKey(), 'pw', { scryptN: 2 ** 22 }),
      isKeystoreError(/power of two/),
    );
    assert.equal(
      hexToBytes(`0x${(await encryptKeystore(generatePrivateKey(), 'pw', { scryptN: 2 })).crypto.ciphertext}`)
        .length,
      32,
    );
  });
});
