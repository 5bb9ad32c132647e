import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToHex, hexToBytes, privateKeyToAddress } from '@aivm/crypto';
import { Wallet } from 'ethers';
import { privateKeyToAccount } from 'viem/accounts';
import {
  BankSend,
  decodeTx,
  defaultModules,
  ERR,
  encodeTx,
  Registry,
  signTx,
  TxRejected,
  txTypedData,
  type UnsignedTx,
  verifyTxSignature,
} from '../src/index.ts';

const registry = new Registry(defaultModules());
const lookup = (type: string) => registry.message(type)?.schema;
const SK = hexToBytes('0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318');
const FROM = privateKeyToAddress(SK);
const TO = privateKeyToAddress(
  hexToBytes('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'),
);

const tx: UnsignedTx = {
  chainId: 7331n,
  from: FROM,
  nonce: 5n,
  gasLimit: 100_000n,
  gasPrice: 2_000_000_000n,
  msgType: 'bank/send',
  msg: { to: TO, amount: 123n * 10n ** 18n },
};

function viemTypedData() {
  const td = txTypedData(tx, BankSend);
  return { ...td, domain: { ...td.domain, chainId: Number(td.domain.chainId) } };
}

describe('transactions', () => {
  it('round-trips through wire bytes and recovers the sender', () => {
    const raw = signTx(tx, SK, BankSend);
    const decoded = decodeTx(raw, lookup);
    assert.equal(decoded.from, FROM);
    assert.equal(decoded.nonce, 5n);
    assert.deepEqual(decoded.msg, tx.msg);
    assert.equal(verifyTxSignature(decoded, BankSend), FROM);
    assert.equal(decoded.hash.length, 66);
  });

  it('accepts a signature made by viem signTypedData (unmodified wallet library)', async () => {
    const account = privateKeyToAccount(bytesToHex(SK));
    const td = viemTypedData();
    const sig = await account.signTypedData(td as Parameters<typeof account.signTypedData>[0]);
    const decoded = decodeTx(encodeTx(tx, hexToBytes(sig), BankSend), lookup);
    assert.equal(verifyTxSignature(decoded, BankSend), FROM);
    // Same digest, deterministic RFC 6979 signature: byte-identical to ours.
    assert.equal(sig, bytesToHex(signTx(tx, SK, BankSend).subarray(-65)));
  });

  it('accepts a signature made by ethers Wallet.signTypedData', async () => {
    const wallet = new Wallet(bytesToHex(SK));
    const td = txTypedData(tx, BankSend);
    const sig = await wallet.signTypedData(
      { ...td.domain, chainId: td.domain.chainId },
      td.types,
      td.message,
    );
    const decoded = decodeTx(encodeTx(tx, hexToBytes(sig), BankSend), lookup);
    assert.equal(verifyTxSignature(decoded, BankSend), FROM);
  });

  it('rejects a signature over another chain id or another body', () => {
    const otherChain = signTx({ ...tx, chainId: 1n }, SK, BankSend);
    const decoded = decodeTx(otherChain, lookup);
    // Re-labelled as our chain, the signature no longer matches the sender.
    const relabelled = decodeTx(encodeTx(tx, decoded.signature, BankSend), lookup);
    assert.throws(
      () => verifyTxSignature(relabelled, BankSend),
      (e: TxRejected) => e.code === ERR.BAD_SIGNATURE,
    );
    const tampered = decodeTx(
      encodeTx({ ...tx, nonce: 6n }, decodeTx(signTx(tx, SK, BankSend), lookup).signature, BankSend),
      lookup,
    );
    assert.throws(
      () => verifyTxSignature(tampered, BankSend),
      (e: TxRejected) => e.code === ERR.BAD_SIGNATURE,
    );
  });

  it('rejects unknown messages, oversize and malformed input with stable codes', () => {
    const unknown = encodeTx({ ...tx, msgType: 'bank/steal' }, new Uint8Array(65), BankSend);
    assert.throws(
      () => decodeTx(unknown, lookup),
      (e: TxRejected) => e.code === ERR.UNKNOWN_MESSAGE && /bank\/steal/.test(e.message),
    );
    assert.throws(
      () => decodeTx(new Uint8Array(70_000), lookup),
      (e: TxRejected) => e.code === ERR.TX_TOO_LARGE,
    );
    assert.throws(
      () => decodeTx(Uint8Array.of(0xc0), lookup),
      (e: TxRejected) => e.code === ERR.TX_DECODE,
    );
  });

  it('fuzz: random bytes and mutated transactions never crash the decoder', () => {
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const valid = signTx(tx, SK, BankSend);
    let decodedMutants = 0;
    for (let i = 0; i < 20_000; i++) {
      let input: Uint8Array;
      if (i % 2) {
        input = new Uint8Array(rand() % 300);
        for (let j = 0; j < input.length; j++) input[j] = rand() & 0xff;
      } else {
        input = valid.slice();
        for (let k = 0; k < 1 + (rand() % 3); k++) input[rand() % input.length] = rand() & 0xff;
      }
      try {
        const d = decodeTx(input, lookup);
        decodedMutants++;
        // Whatever decodes must not verify as the original sender unless it is the original tx.
        try {
          if (verifyTxSignature(d, BankSend) === FROM) assert.deepEqual(input, valid);
        } catch (err) {
          assert.ok(err instanceof TxRejected);
        }
      } catch (err) {
        assert.ok(
          err instanceof TxRejected,
          `decoder threw ${(err as Error).name}: ${(err as Error).message}`,
        );
        assert.ok(
          [ERR.TX_DECODE, ERR.UNKNOWN_MESSAGE, ERR.TX_TOO_LARGE].includes((err as TxRejected).code as 1001),
        );
      }
    }
    assert.ok(decodedMutants > 0, 'some single-byte mutations (e.g. in amounts) still decode');
  });
});
