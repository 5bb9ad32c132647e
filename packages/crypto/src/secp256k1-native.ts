// Node-only: binds native libsecp256k1 (the `secp256k1` N-API addon, ~20x faster recovery than
// @noble/curves). Only index.node.ts imports this file, so browser bundles never see `node:` modules.

import { createRequire } from 'node:module';
import { equalBytes, hexToBytes } from './bytes.ts';
import type { RecoverPublicKeyFn } from './secp256k1.ts';

// Known answer (secret key 1, so the public key is the generator G), checked once at load:
// a miscompiled or mismatched addon must fall back to noble rather than diverge from consensus.
const SELF_TEST_DIGEST = '0xdbd73e2f6c554f27ac6c9168c32c9371a3ce662a2e348b0fdfb98a24fd197c11';
const SELF_TEST_RS =
  '0x758be03db2031ded275b48643a784214c13be0a2722f3495deb947cd5994e8ca5eebeec5df01aa63cafd24e2980a79ca5d6cc90603868060ddbeef363b8e202a';
const SELF_TEST_PUB =
  '0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8';

/** The slice of the `secp256k1` package API we use (it ships no types). */
type NativeSecp256k1 = {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
};

/**
 * Returns the native recovery function, or null when the addon cannot load (no prebuild for this
 * platform), fails its self-test, or is disabled with AIVM_SECP256K1=noble. Loads
 * `secp256k1/bindings.js` rather than the package root because the root silently falls back to
 * the slow pure-JS `elliptic` implementation.
 */
export function loadNativeSecp256k1(env: Record<string, string | undefined>): RecoverPublicKeyFn | null {
  if (env.AIVM_SECP256K1 === 'noble') return null;
  let lib: NativeSecp256k1;
  try {
    lib = createRequire(import.meta.url)('secp256k1/bindings.js') as NativeSecp256k1;
    const pub = lib.ecdsaRecover(hexToBytes(SELF_TEST_RS), 0, hexToBytes(SELF_TEST_DIGEST), false);
    if (!equalBytes(pub, hexToBytes(SELF_TEST_PUB))) return null;
  } catch {
    return null;
  }
  return (digest32, rs64, recid) => {
    try {
      return lib.ecdsaRecover(rs64, recid, digest32, false);
    } catch {
      // The addon throws on unparsable or unrecoverable signatures; callers expect null.
      return null;
    }
  };
}
