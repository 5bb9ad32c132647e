// Node entry of @aivm/crypto (selected by the "node" export condition): same API as index.ts, with
// native libsecp256k1 installed for signature recovery when the addon loads, node:crypto's scrypt,
// and OpenSSL's ed25519 as the fast path of vote and commit signature checks.

import { createPublicKey, scrypt, verify } from 'node:crypto';
import process from 'node:process';
import { installFastEd25519Verify } from './ed25519.ts';
import { installScrypt } from './keystore.ts';
import { installNativeSecp256k1 } from './secp256k1.ts';
import { loadNativeSecp256k1 } from './secp256k1-native.ts';

export * from './index.ts';

const nativeRecover = loadNativeSecp256k1(process.env);
if (nativeRecover) installNativeSecp256k1(nativeRecover);

installScrypt(
  (password, salt, { N, r, p, dkLen, maxmem }) =>
    new Promise((resolve, reject) => {
      scrypt(password, salt, dkLen, { N, r, p, maxmem }, (err, key) =>
        err ? reject(err) : resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength)),
      );
    }),
);

// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);
const keyCache = new Map<string, ReturnType<typeof createPublicKey>>();

installFastEd25519Verify((sig, msg, pub) => {
  const id = Buffer.from(pub).toString('hex');
  let key = keyCache.get(id);
  if (!key) {
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
    // Validator keys are few; bound the cache anyway (a peer can send any key).
    if (keyCache.size >= 1_024) keyCache.clear();
    keyCache.set(id, key);
  }
  return verify(null, msg, key, sig);
});
