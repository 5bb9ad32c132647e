// Node entry of @aivm/crypto (selected by the "node" export condition): same API as index.ts, with
// native libsecp256k1 installed for signature recovery when the addon loads.

import { scrypt } from 'node:crypto';
import process from 'node:process';
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
