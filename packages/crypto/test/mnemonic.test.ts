// BIP-39/44 mnemonics: the Hardhat vector and agreement with ethers HDNodeWallet.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HDNodeWallet } from 'ethers';
import {
  bytesToHex,
  generateMnemonic,
  InvalidMnemonicError,
  mnemonicToPrivateKey,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
  validateMnemonic,
} from '../src/index.node.ts';

const HARDHAT = 'test test test test test test test test test test test junk';
const isInvalidMnemonic = (e: unknown) => e instanceof InvalidMnemonicError && e.code === 'INVALID_MNEMONIC';

describe('mnemonic', () => {
  it('derives the Hardhat/Anvil default accounts', () => {
    assert.equal(
      privateKeyToAddress(mnemonicToPrivateKey(HARDHAT)),
      '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    );
    assert.equal(
      bytesToHex(mnemonicToPrivateKey(HARDHAT, 0)),
      '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
    );
    assert.equal(
      privateKeyToAddress(mnemonicToPrivateKey(HARDHAT, 1)),
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    );
    assert.equal(
      privateKeyToAddress(mnemonicToPrivateKey(HARDHAT, 2)),
      '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    );
  });

  it('agrees with ethers HDNodeWallet for several indices and a passphrase', () => {
    const phrase = generateMnemonic(256);
    for (const [index, passphrase] of [
      [0, ''],
      [7, ''],
      [3, 'TREZOR'],
    ] as const) {
      const ours = bytesToHex(mnemonicToPrivateKey(phrase, index, passphrase));
      const theirs = HDNodeWallet.fromPhrase(phrase, passphrase, `m/44'/60'/0'/0/${index}`).privateKey;
      assert.equal(ours, theirs, `index ${index}`);
    }
    assert.equal(
      bytesToHex(mnemonicToPrivateKey(HARDHAT, 5)),
      HDNodeWallet.fromPhrase(HARDHAT, '', "m/44'/60'/0'/0/5").privateKey,
    );
  });

  it('generates valid 12- and 24-word phrases', () => {
    const m12 = generateMnemonic();
    const m24 = generateMnemonic(256);
    assert.equal(m12.split(' ').length, 12);
    assert.equal(m24.split(' ').length, 24);
    assert.equal(validateMnemonic(m12), true);
    assert.equal(validateMnemonic(m24), true);
    assert.notEqual(generateMnemonic(), m12);
    assert.throws(() => generateMnemonic(64 as 128), isInvalidMnemonic);
  });

  it('accepts extra whitespace and upper case as the same phrase', () => {
    const messy = `  ${HARDHAT.toUpperCase().replaceAll(' ', ' \n\t')}  `;
    assert.equal(validateMnemonic(messy), true);
    assert.deepEqual(mnemonicToPrivateKey(messy), mnemonicToPrivateKey(HARDHAT));
  });

  it('rejects bad phrases and indices', () => {
    const badChecksum = 'test test test test test test test test test test test test';
    const unknownWord = 'test test test test test test test test test test test jnuk';
    const elevenWords = 'test test test test test test test test test test junk';
    for (const bad of [badChecksum, unknownWord, elevenWords, '']) {
      assert.equal(validateMnemonic(bad), false, bad);
      assert.throws(() => mnemonicToPrivateKey(bad), isInvalidMnemonic);
    }
    assert.equal(validateMnemonic(42 as unknown as string), false);
    for (const index of [-1, 2 ** 31, 1.5])
      assert.throws(() => mnemonicToPrivateKey(HARDHAT, index), isInvalidMnemonic);
  });

  it('derives a range of accounts at once, equal to one-by-one derivation and to ethers', () => {
    const keys = mnemonicToPrivateKeys(HARDHAT, 3, 4);
    assert.equal(keys.length, 4);
    keys.forEach((k, i) => {
      assert.deepEqual(k, mnemonicToPrivateKey(HARDHAT, 3 + i));
      assert.equal(
        privateKeyToAddress(k),
        HDNodeWallet.fromPhrase(HARDHAT, undefined, `m/44'/60'/0'/0/${3 + i}`).address,
      );
    });
    assert.throws(() => mnemonicToPrivateKeys(HARDHAT, 2 ** 31 - 1, 2), isInvalidMnemonic);
    assert.throws(() => mnemonicToPrivateKeys(HARDHAT, 0, 0), isInvalidMnemonic);
  });
});
