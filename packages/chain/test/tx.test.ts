import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRlp, encodeRlp, type RlpItem } from '@aivm/codec';
import { bytesToHex, hexToBytes, keccak256, privateKeyToAddress, recoverAddress } from '@aivm/crypto';
import { Signature, Wallet } from 'ethers';
import { privateKeyToAccount } from 'viem/accounts';
import {
  BankSend,
  checkTxStateless,
  decodeTx,
  defaultModules,
  ERR,
  encodeTx,
  Registry,
  signTx,
  TxRejected,
  txSigningDigest,
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
        // Whatever decodes is the one encoding of what it decodes to: no second spelling exists.
        assert.deepEqual(encodeTx(d, d.signature, lookup(d.msgType)!), input);
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
          [
            ERR.TX_DECODE,
            ERR.UNKNOWN_MESSAGE,
            ERR.TX_TOO_LARGE,
            ERR.BAD_SIGNATURE,
            // Bytes read as an Ethereum transaction (eth-tx.ts): another chain, or a kind AIVM refuses.
            ERR.WRONG_CHAIN,
            ERR.UNSUPPORTED_TX,
          ].includes((err as TxRejected).code as 1001),
        );
      }
    }
    assert.ok(decodedMutants > 0, 'some single-byte mutations (e.g. in amounts) still decode');
  });
});

// Curve order n: s -> n - s is the high-s twin of a signature.
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const chain = { chainId: tx.chainId, registry };
/** The admission check every transaction passes (mempool, gossip, block execution). */
const admit = (raw: Uint8Array) => checkTxStateless(raw, chain);

type Form = 'canonical' | 'long' | 'zeroLen' | 'prefixed';

function lengthBytes(n: number): number[] {
  const out: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) out.unshift(n % 256);
  return out;
}

function header(len: number, base: 0x80 | 0xc0, form: Form): number[] {
  if ((form === 'canonical' || form === 'prefixed') && len <= 55) return [base + len];
  const lb = lengthBytes(len);
  if (form === 'zeroLen') lb.unshift(0);
  return [base + 55 + lb.length, ...lb];
}

/** A hand-written RLP encoder that spells the item at each path as `form(path)` says. */
function spell(item: RlpItem, form: (path: string) => Form, path = ''): number[] {
  const f = form(path);
  if (item instanceof Uint8Array) {
    if (item.length === 1 && item[0]! < 0x80 && f === 'canonical') return [item[0]!];
    return [...header(item.length, 0x80, f), ...item];
  }
  const payload = item.flatMap((x, i) => spell(x, form, `${path}/${i}`));
  return [...header(payload.length, 0xc0, f), ...payload];
}

function items(raw: Uint8Array): RlpItem[] {
  return decodeRlp(raw) as RlpItem[];
}

function withItem(raw: Uint8Array, index: number, value: RlpItem): Uint8Array {
  const list = items(raw);
  list[index] = value;
  return encodeRlp(list);
}

function withV(sig: Uint8Array, v: number): Uint8Array {
  const out = sig.slice();
  out[64] = v;
  return out;
}

function paths(item: RlpItem, path = ''): string[] {
  if (item instanceof Uint8Array) return [path];
  return [path, ...item.flatMap((x, i) => paths(x, `${path}/${i}`))];
}

describe('transaction wire form has exactly one encoding (no malleable hashes)', () => {
  const original = signTx(tx, SK, BankSend);
  const sig = decodeTx(original, lookup).signature;
  const hash = bytesToHex(keccak256(original));

  /** The re-encoding is a different byte string (another hash) and is refused; the original is not. */
  function assertRefused(raw: Uint8Array, code: number, message: RegExp, label: string): void {
    assert.notEqual(bytesToHex(keccak256(raw)), hash, `${label}: the same bytes`);
    assert.throws(
      () => admit(raw),
      (e: unknown) =>
        e instanceof TxRejected &&
        e.code === code &&
        message.test(e.message) &&
        // Refused whichever way in: decoding alone (RPC, gossip) and the full check agree.
        (() => {
          try {
            const d = decodeTx(raw, lookup);
            verifyTxSignature(d, lookup(d.msgType)!);
            return false;
          } catch (again) {
            return again instanceof TxRejected && again.code === code;
          }
        })(),
      label,
    );
    assert.equal(admit(original).sender, FROM);
  }

  it('the original is accepted, under its own hash', () => {
    const { tx: decoded, sender } = admit(original);
    assert.equal(sender, FROM);
    assert.equal(decoded.hash, hash);
    assert.ok(sig[64] === 27 || sig[64] === 28, 'signDigest produces v = 27/28');
    // The hand-written encoder spells the canonical form exactly as the codec does.
    assert.deepEqual(Uint8Array.from(spell(items(original), () => 'canonical')), original);
  });

  it('refuses v as a bare recovery id (0/1), which would otherwise recover the same sender', () => {
    const recid = sig[64]! - 27;
    const bare = withV(sig, recid);
    // The attack is real: the 0/1 spelling is a valid signature by the sender at the crypto layer.
    assert.equal(recoverAddress(txSigningDigest(tx, BankSend), bare), FROM);
    assertRefused(withItem(original, 7, bare), ERR.BAD_SIGNATURE, /v must be 27 or 28.*got [01]/, 'v=0/1');
    // The other bare id too, and the other 27/28 (a different signer, so not by the sender).
    assertRefused(withItem(original, 7, withV(sig, 1 - recid)), ERR.BAD_SIGNATURE, /v must be 27 or 28/, 'v');
    assertRefused(
      withItem(original, 7, withV(sig, 55 - sig[64]!)),
      ERR.BAD_SIGNATURE,
      /not by sender/,
      'flip',
    );
  });

  it('refuses every other v: EIP-155 style (35 + 2 * chainId + recid), 29..255', () => {
    const recid = sig[64]! - 27;
    const eip155 = Number((35n + 2n * tx.chainId + BigInt(recid)) % 256n);
    const others = [2, 3, 26, 29, 30, 31, 35, 36, 37, 38, 127, 128, 255, eip155];
    for (const v of others) {
      assertRefused(withItem(original, 7, withV(sig, v)), ERR.BAD_SIGNATURE, /v must be 27 or 28/, `v=${v}`);
    }
  });

  it('refuses the high-s twin of the signature (with either v)', () => {
    const s = BigInt(bytesToHex(sig.subarray(32, 64)));
    const high = sig.slice();
    high.set(hexToBytes(`0x${(N - s).toString(16).padStart(64, '0')}`), 32);
    high[64] = 55 - sig[64]!; // n - s recovers the same key with the other recovery id
    assertRefused(withItem(original, 7, high), ERR.BAD_SIGNATURE, /high/, 'high-s');
    assertRefused(withItem(original, 7, withV(high, sig[64]!)), ERR.BAD_SIGNATURE, /high/, 'high-s same v');
    assertRefused(
      withItem(original, 7, withV(high, high[64]! - 27)),
      ERR.BAD_SIGNATURE,
      /v must be/,
      'hi-s 0/1',
    );
  });

  it('refuses a signature of any other length, an EIP-2098 compact one included', () => {
    const recid = sig[64]! - 27;
    const compact = sig.slice(0, 64);
    compact[32]! |= recid << 7; // r || (yParity << 255 | s)
    const cases: [string, RlpItem][] = [
      ['64-byte EIP-2098', compact],
      ['64 bytes (v cut)', sig.slice(0, 64)],
      ['66 bytes (zero appended)', Uint8Array.from([...sig, 0])],
      ['66 bytes (zero prepended)', Uint8Array.from([0, ...sig])],
      ['empty', new Uint8Array(0)],
      ['130 bytes (twice)', Uint8Array.from([...sig, ...sig])],
    ];
    for (const [label, value] of cases) {
      assertRefused(withItem(original, 7, value), ERR.BAD_SIGNATURE, /must be 65 bytes/, label);
    }
    assertRefused(withItem(original, 7, [sig]), ERR.TX_DECODE, /signature: expected bytes/, 'as a list');
  });

  it('refuses non-canonical RLP anywhere: long-form lengths, zero-led lengths, prefixed bytes', () => {
    const tree = items(original);
    const covered = new Set<string>();
    let tried = 0;
    for (const path of paths(tree)) {
      for (const form of ['long', 'zeroLen', 'prefixed'] as const) {
        const raw = Uint8Array.from(spell(tree, (p) => (p === path ? form : 'canonical')));
        if (bytesToHex(raw) === bytesToHex(original)) continue; // e.g. long form of a 65-byte item
        assertRefused(raw, ERR.TX_DECODE, /non-canonical RLP/, `${form} at ${path || 'top'}`);
        covered.add(path);
        tried++;
      }
    }
    // Every item (the envelope, its 8 fields, the message's 2) in at least one non-canonical
    // spelling; the long form too wherever it is not already the canonical one (55+ bytes).
    assert.deepEqual([...covered].sort(), paths(tree).sort());
    assert.ok(tried >= 2 * paths(tree).length - 2, `only ${tried} spellings tried`);
    // The nonce (5) is a single byte below 0x80: prefixed, it is a second spelling.
    const prefixed = Uint8Array.from(spell(tree, (p) => (p === '/2' ? 'prefixed' : 'canonical')));
    assertRefused(prefixed, ERR.TX_DECODE, /prefixed single byte/, 'prefixed nonce');
  });

  it('refuses integers with leading zeros (and zero spelled 0x00), addresses of other widths', () => {
    const tree = items(original);
    const fields: [string, number[]][] = [
      ['chainId', [0]],
      ['nonce', [2]],
      ['gasLimit', [3]],
      ['gasPrice', [4]],
      ['msg.amount', [6, 1]],
    ];
    for (const [label, at] of fields) {
      const list = items(original);
      const parent = at.length === 1 ? list : (list[at[0]!] as RlpItem[]);
      const k = at[at.length - 1]!;
      parent[k] = Uint8Array.from([0, ...(parent[k] as Uint8Array)]);
      assertRefused(encodeRlp(list), ERR.TX_DECODE, /leading zero/, label);
      // Zero-padded to a fixed width (8 bytes, or wider for wide values), as an ABI encoder would.
      const padded = items(original);
      const pp = at.length === 1 ? padded : (padded[at[0]!] as RlpItem[]);
      const v = pp[k] as Uint8Array;
      pp[k] = Uint8Array.from([...new Uint8Array(8), ...v]).slice(-Math.max(8, v.length + 1));
      assertRefused(encodeRlp(padded), ERR.TX_DECODE, /leading zero/, `${label} padded`);
    }
    // Zero is the empty string; 0x00 is its second spelling.
    const zeroNonce = signTx({ ...tx, nonce: 0n }, SK, BankSend);
    assert.equal(admit(zeroNonce).sender, FROM);
    assert.throws(
      () => admit(withItem(zeroNonce, 2, Uint8Array.of(0))),
      (e: TxRejected) => e.code === ERR.TX_DECODE && /leading zero/.test(e.message),
    );
    for (const [label, value] of [
      ['from, 21 bytes', Uint8Array.from([0, ...(tree[1] as Uint8Array)])],
      ['from, 32 bytes (ABI word)', Uint8Array.from([...new Uint8Array(12), ...(tree[1] as Uint8Array)])],
    ] as const) {
      assertRefused(withItem(original, 1, value), ERR.TX_DECODE, /address must be 20 bytes/, label);
    }
  });

  it('refuses another encoding of the message: field order, extra, missing or wrapped fields', () => {
    const msg = items(original)[6] as RlpItem[];
    const cases: [string, RlpItem, RegExp][] = [
      ['fields swapped', [msg[1]!, msg[0]!], /msg\.(to|amount)/],
      ['extra field', [...msg, new Uint8Array(0)], /BankSend has 2 fields, got 3/],
      ['extra field with a value', [...msg, Uint8Array.of(1)], /BankSend has 2 fields, got 3/],
      ['missing field', [msg[0]!], /BankSend has 2 fields, got 1/],
      ['message as bytes (its RLP)', encodeRlp(msg), /expected a list for BankSend/],
      ['message wrapped in a list', [msg], /BankSend has 2 fields, got 1/],
      ['amount as a list', [msg[0]!, [msg[1]!]], /msg\.amount: expected bytes/],
    ];
    for (const [label, value, re] of cases) {
      assertRefused(withItem(original, 6, value), ERR.TX_DECODE, re, label);
    }
    // The message type is matched exactly: no case, padding or NUL variants of 'bank/send'.
    for (const msgType of ['Bank/Send', 'bank/send\0', ' bank/send', 'bank/send/']) {
      assertRefused(
        withItem(original, 5, new TextEncoder().encode(msgType)),
        ERR.UNKNOWN_MESSAGE,
        /unknown message type/,
        JSON.stringify(msgType),
      );
    }
  });

  it('refuses trailing bytes, extra or missing envelope items, and a wrapped envelope', () => {
    const list = items(original);
    const cases: [string, Uint8Array, RegExp][] = [
      ['one zero byte appended', Uint8Array.from([...original, 0]), /trailing bytes/],
      ['an empty list appended', Uint8Array.from([...original, 0xc0]), /trailing bytes/],
      ['the transaction twice', Uint8Array.from([...original, ...original]), /trailing bytes/],
      // 9 items are read as a legacy Ethereum transaction (eth-tx.ts), which these are not.
      ['a 9th item', encodeRlp([...list, new Uint8Array(0)]), /malformed Ethereum transaction/],
      ['a 9th item (a second signature)', encodeRlp([...list, sig]), /malformed Ethereum transaction/],
      ['7 items', encodeRlp(list.slice(0, 7)), /list of 8 items/],
      ['wrapped in a list', encodeRlp([list]), /list of 8 items/],
      ['as an RLP string', encodeRlp(original), /list of 8 items/],
    ];
    for (const [label, raw, re] of cases) assertRefused(raw, ERR.TX_DECODE, re, label);
  });

  it('encodeTx normalizes a signer that returns v as 0/1 (yParity) to the one accepted form', async () => {
    const wallet = new Wallet(bytesToHex(SK));
    const td = txTypedData(tx, BankSend);
    const parsed = Signature.from(await wallet.signTypedData(td.domain, td.types, td.message));
    const yParitySig = hexToBytes(`${parsed.r}${parsed.s.slice(2)}0${parsed.yParity}`);
    assert.equal(yParitySig[64], parsed.yParity);
    const raw = encodeTx(tx, yParitySig, BankSend);
    assert.deepEqual(raw, original); // byte-identical to signTx: the same single hash
    assert.equal(admit(raw).sender, FROM);
    assert.equal(yParitySig[64], parsed.yParity, 'the caller’s signature bytes are not modified');
  });

  it('a signature object built by hand with v = 0/1 is refused by verifyTxSignature too', () => {
    const decoded = decodeTx(original, lookup);
    const bare = { ...decoded, signature: withV(sig, sig[64]! - 27) };
    assert.throws(
      () => verifyTxSignature(bare, BankSend),
      (e: TxRejected) => e.code === ERR.BAD_SIGNATURE && /v must be 27 or 28/.test(e.message),
    );
  });
});
