// BIP-39 mnemonics and BIP-44 derivation (m/44'/60'/0'/0/i), the same accounts MetaMask and Hardhat derive.

import { HDKey } from '@scure/bip32';
import {
  generateMnemonic as bip39Generate,
  validateMnemonic as bip39Validate,
  mnemonicToSeedSync,
} from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { InvalidMnemonicError } from './errors.ts';

const HARDENED = 0x80000000;

/** One canonical spelling: lower case, single spaces (ethers canonicalizes the same way). */
function normalizeMnemonic(m: string): string {
  return m.normalize('NFKD').trim().toLowerCase().split(/\s+/).join(' ');
}

/** A new English mnemonic: 12 words for 128 bits of entropy (the default), 24 for 256. */
export function generateMnemonic(strength: 128 | 256 = 128): string {
  if (strength !== 128 && strength !== 256) throw new InvalidMnemonicError('strength must be 128 or 256');
  return bip39Generate(wordlist, strength);
}

export function validateMnemonic(m: string): boolean {
  return typeof m === 'string' && bip39Validate(normalizeMnemonic(m), wordlist);
}

/** The secp256k1 private key at m/44'/60'/0'/0/{index}. */
export function mnemonicToPrivateKey(mnemonic: string, index = 0, passphrase = ''): Uint8Array {
  return mnemonicToPrivateKeys(mnemonic, index, 1, passphrase)[0]!;
}

/**
 * The keys at m/44'/60'/0'/0/{first .. first+count-1}. The seed derivation (2048 rounds of
 * PBKDF2) runs once for all of them, which matters when a devnet funds hundreds of accounts.
 */
export function mnemonicToPrivateKeys(
  mnemonic: string,
  first: number,
  count: number,
  passphrase = '',
): Uint8Array[] {
  if (typeof mnemonic !== 'string') throw new InvalidMnemonicError('mnemonic must be a string');
  const phrase = normalizeMnemonic(mnemonic);
  if (!bip39Validate(phrase, wordlist)) {
    throw new InvalidMnemonicError('invalid mnemonic: unknown word, wrong word count, or bad checksum');
  }
  const last = first + count - 1;
  if (
    !Number.isSafeInteger(first) ||
    first < 0 ||
    !Number.isSafeInteger(last) ||
    last >= HARDENED ||
    count < 1
  ) {
    throw new InvalidMnemonicError(`account index must be an integer in [0, 2^31), got ${first}..${last}`);
  }
  if (typeof passphrase !== 'string') throw new InvalidMnemonicError('passphrase must be a string');
  const account = HDKey.fromMasterSeed(mnemonicToSeedSync(phrase, passphrase)).derive("m/44'/60'/0'/0");
  return Array.from({ length: count }, (_, i) => {
    const key = account.deriveChild(first + i).privateKey;
    // Unreachable in practice (probability ~2^-127), but a null key must never become a zero key.
    if (key === null) throw new InvalidMnemonicError(`no valid key at index ${first + i}; use another index`);
    return key;
  });
}
