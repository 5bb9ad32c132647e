// Ethereum-signed CGPT transfers (docs/wallets.md): a wallet (MetaMask, viem, ethers, Hardhat)
// signs a plain value transfer as an Ethereum transaction, legacy with EIP-155 replay protection
// or EIP-1559 (type 2), and the chain carries those exact bytes as a transaction of its own. It
// decodes to the SignedTx of a `bank/send` (from = the recovered signer, to, amount = value) and
// runs through the same checks, nonce, fees and handler as any transaction. Its hash is keccak256
// of the bytes, which is the Ethereum transaction hash a wallet computes.
//
// Wire forms (recognised by decodeTx):
//   legacy:   RLP [nonce, gasPrice, gasLimit, to, value, data, v, r, s]           (9 items;
//             the AIVM form is an 8-item list), v = chainId * 2 + 35 + yParity (EIP-155)
//   EIP-1559: 0x02 || RLP [chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to,
//             value, data, accessList, yParity, r, s]
// Every integer is canonical RLP (no leading zero), r and s are in [1, n-1] with s <= n/2 (low s,
// as Ethereum requires since Homestead) and yParity is 0 or 1, so one signed transfer has exactly
// one spelling and one hash. AIVM has no EVM: contract creation (no `to`), call data and access
// lists are refused (UNSUPPORTED_TX), as are other transaction types; a legacy transaction without
// a chain id (v 27/28) is refused (WRONG_CHAIN): it would replay on every chain.
// Browser-safe.

import { CodecError, decodeRaw, decodeRlp, encodeRlp, type RlpItem, t } from '@aivm/codec';
import {
  type Address,
  bigintToBytes,
  bytesToHex,
  concatBytes,
  type Hex,
  hexToBytes,
  keccak256,
  recoverAddress,
  signDigest,
} from '@aivm/crypto';
import { ERR, TxRejected } from './errors.ts';
import type { SignedTx } from './tx.ts';

export type EthTxType = 'legacy' | 'eip1559';

/** What an Ethereum-signed transfer carries beyond the SignedTx it decodes to. */
export type EthTxInfo = {
  type: EthTxType;
  /** The transfer's value in wei (also msg.amount). */
  value: bigint;
  /** EIP-1559 only; the SignedTx's gasPrice is its maxFeePerGas. */
  maxPriorityFeePerGas?: bigint;
};

/** The fields a wallet signs (an Ethereum transaction request, plain value transfer). */
export type EthTransfer = {
  type: EthTxType;
  chainId: bigint;
  nonce: bigint;
  gasLimit: bigint;
  to: Address;
  value: bigint;
  /** legacy */
  gasPrice?: bigint;
  /** EIP-1559 */
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
};

/** The message type an Ethereum transfer executes as. */
export const ETH_TRANSFER_MSG_TYPE = 'bank/send';
export const EIP1559_TX_TYPE = 0x02;

const U64_MAX = (1n << 64n) - 1n;

/**
 * The longest an accepted Ethereum transfer can be: every integer at its largest (64-bit chain id,
 * nonce and gas limit, 256-bit fees, value, r and s, a 66-bit EIP-155 v). Intrinsic gas is
 * charged per byte, so this bounds what any transfer's size costs.
 */
export const ETH_TRANSFER_MAX_BYTES = (() => {
  const u256 = bigintToBytes((1n << 256n) - 1n);
  const u64 = bigintToBytes(U64_MAX);
  const to = new Uint8Array(20).fill(0xff);
  const legacy = encodeRlp([
    u64,
    u256,
    u64,
    to,
    u256,
    new Uint8Array(0),
    bigintToBytes(U64_MAX * 2n + 36n),
    u256,
    u256,
  ]);
  const typed = encodeRlp([
    u64,
    u64,
    u256,
    u256,
    u64,
    to,
    u256,
    new Uint8Array(0),
    [],
    bigintToBytes(1n),
    u256,
    u256,
  ]);
  return Math.max(legacy.length, typed.length + 1);
})();

/** True when `raw` is one of the Ethereum forms (a typed envelope, or a 9-item RLP list). */
export function isEthTxBytes(raw: Uint8Array): boolean {
  if (raw.length === 0) return false;
  if (raw[0]! <= 0x7f) return true;
  if (raw[0]! < 0xc0) return false;
  try {
    const items = decodeRlp(raw);
    return Array.isArray(items) && items.length === 9;
  } catch {
    return false;
  }
}

function bytesItem(items: RlpItem[], i: number, field: string): Uint8Array {
  const item = items[i]!;
  if (!(item instanceof Uint8Array)) throw new CodecError(field, 'expected bytes, got a list');
  return item;
}

function uint(items: RlpItem[], i: number, field: string, bits: 64 | 256): bigint {
  return decodeRaw(bits === 64 ? t.uint64 : t.uint256, bytesItem(items, i, field), field);
}

function recipient(items: RlpItem[], i: number): Address {
  const to = bytesItem(items, i, 'to');
  if (to.length === 0) {
    throw new TxRejected(
      ERR.UNSUPPORTED_TX,
      'contract creation is not supported: AIVM has no EVM (an Ethereum transaction must name `to`)',
    );
  }
  return decodeRaw(t.address, to, 'to');
}

function requireNoData(items: RlpItem[], i: number): void {
  const data = bytesItem(items, i, 'data');
  if (data.length > 0) {
    throw new TxRejected(
      ERR.UNSUPPORTED_TX,
      `call data is not supported: AIVM has no EVM, an Ethereum transaction may only transfer value (data is ${data.length} bytes); sign other transactions as EIP-712 AIVM transactions`,
    );
  }
}

/** r || s || (27 + yParity), each of r and s 32 bytes; range and low-s are checked by recovery. */
function signature65(r: bigint, s: bigint, yParity: bigint): Uint8Array {
  const out = new Uint8Array(65);
  const rb = bigintToBytes(r);
  const sb = bigintToBytes(s);
  out.set(rb, 32 - rb.length);
  out.set(sb, 64 - sb.length);
  out[64] = 27 + Number(yParity);
  return out;
}

function recoverSigner(digest: Uint8Array, sig: Uint8Array): Address {
  try {
    return recoverAddress(digest, sig);
  } catch (err) {
    throw new TxRejected(ERR.BAD_SIGNATURE, `invalid signature: ${(err as Error).message}`);
  }
}

type Decoded = Omit<SignedTx, 'hash' | 'raw' | 'from' | 'msgType'> & { digest: Uint8Array; eth: EthTxInfo };

function decodeLegacy(items: RlpItem[]): Decoded {
  const nonce = uint(items, 0, 'nonce', 64);
  const gasPrice = uint(items, 1, 'gasPrice', 256);
  const gasLimit = uint(items, 2, 'gasLimit', 64);
  const to = recipient(items, 3);
  const value = uint(items, 4, 'value', 256);
  requireNoData(items, 5);
  const v = uint(items, 6, 'v', 256);
  const r = uint(items, 7, 'r', 256);
  const s = uint(items, 8, 's', 256);
  if (v === 27n || v === 28n) {
    throw new TxRejected(
      ERR.WRONG_CHAIN,
      'legacy transaction without a chain id (v 27/28, pre-EIP-155) is refused: it could be replayed on any chain',
    );
  }
  if (v < 35n) throw new TxRejected(ERR.BAD_SIGNATURE, `invalid signature: v ${v} is not an EIP-155 v`);
  const chainId = (v - 35n) / 2n;
  if (chainId > U64_MAX) throw new TxRejected(ERR.WRONG_CHAIN, `chain id ${chainId} is out of range`);
  const yParity = (v - 35n) % 2n;
  // EIP-155 signing payload: the six fields, then chainId, 0, 0.
  const payload = items.slice(0, 6) as Uint8Array[];
  const digest = keccak256(
    encodeRlp([...payload, bigintToBytes(chainId), new Uint8Array(0), new Uint8Array(0)]),
  );
  return {
    chainId,
    nonce,
    gasLimit,
    gasPrice,
    msg: { to, amount: value },
    signature: signature65(r, s, yParity),
    digest,
    eth: { type: 'legacy', value },
  };
}

function decodeEip1559(body: Uint8Array): Decoded {
  const items = decodeRlp(body);
  if (!Array.isArray(items) || items.length !== 12) {
    throw new CodecError('', 'an EIP-1559 transaction is 0x02 followed by a list of 12 items');
  }
  const chainId = uint(items, 0, 'chainId', 64);
  const nonce = uint(items, 1, 'nonce', 64);
  const maxPriorityFeePerGas = uint(items, 2, 'maxPriorityFeePerGas', 256);
  const maxFeePerGas = uint(items, 3, 'maxFeePerGas', 256);
  const gasLimit = uint(items, 4, 'gasLimit', 64);
  const to = recipient(items, 5);
  const value = uint(items, 6, 'value', 256);
  requireNoData(items, 7);
  const accessList = items[8]!;
  if (!Array.isArray(accessList)) throw new CodecError('accessList', 'expected a list');
  if (accessList.length > 0) {
    throw new TxRejected(ERR.UNSUPPORTED_TX, 'access lists are not supported: AIVM has no EVM storage');
  }
  const yParity = uint(items, 9, 'yParity', 64);
  if (yParity > 1n)
    throw new TxRejected(ERR.BAD_SIGNATURE, `invalid signature: yParity ${yParity} is not 0 or 1`);
  const r = uint(items, 10, 'r', 256);
  const s = uint(items, 11, 's', 256);
  if (maxPriorityFeePerGas > maxFeePerGas) {
    throw new CodecError(
      'maxPriorityFeePerGas',
      `${maxPriorityFeePerGas} is above maxFeePerGas ${maxFeePerGas}`,
    );
  }
  const digest = keccak256(concatBytes(Uint8Array.of(EIP1559_TX_TYPE), encodeRlp(items.slice(0, 9))));
  return {
    chainId,
    nonce,
    gasLimit,
    gasPrice: maxFeePerGas,
    msg: { to, amount: value },
    signature: signature65(r, s, yParity),
    digest,
    eth: { type: 'eip1559', value, maxPriorityFeePerGas },
  };
}

/**
 * Decodes an Ethereum-form transaction (isEthTxBytes) to the SignedTx of its `bank/send`, with
 * `from` the recovered signer (taken from `knownSender` when a verifier already recovered it from
 * these bytes). Throws TxRejected with a stable code; `items` is the decoded RLP list of a legacy
 * transaction (the caller has decoded it already).
 */
export function decodeEthTx(
  raw: Uint8Array,
  items: RlpItem[] | undefined,
  knownSender?: (hash: Hex) => Address | undefined,
): SignedTx & { eth: EthTxInfo } {
  let d: Decoded;
  try {
    if (raw[0]! === EIP1559_TX_TYPE) d = decodeEip1559(raw.subarray(1));
    else if (raw[0]! <= 0x7f) {
      throw new TxRejected(
        ERR.UNSUPPORTED_TX,
        `Ethereum transaction type ${raw[0]} is not supported (only legacy EIP-155 and EIP-1559 value transfers)`,
      );
    } else d = decodeLegacy(items ?? (decodeRlp(raw) as RlpItem[]));
  } catch (err) {
    if (err instanceof TxRejected) throw err;
    throw new TxRejected(ERR.TX_DECODE, `malformed Ethereum transaction: ${(err as Error).message}`);
  }
  const hash = bytesToHex(keccak256(raw));
  const from = knownSender?.(hash) ?? recoverSigner(d.digest, d.signature);
  const { digest: _digest, ...rest } = d;
  return { ...rest, from, msgType: ETH_TRANSFER_MSG_TYPE, hash, raw };
}

/** Wire bytes of an Ethereum transfer signed with `privateKey` (tests, the fuzzer, tools). */
export function signEthTransfer(tx: EthTransfer, privateKey: Uint8Array): Uint8Array {
  const to = bytesFromAddress(tx.to);
  if (tx.type === 'legacy') {
    const fields = [
      bigintToBytes(tx.nonce),
      bigintToBytes(tx.gasPrice ?? 0n),
      bigintToBytes(tx.gasLimit),
      to,
      bigintToBytes(tx.value),
      new Uint8Array(0),
    ];
    const digest = keccak256(
      encodeRlp([...fields, bigintToBytes(tx.chainId), new Uint8Array(0), new Uint8Array(0)]),
    );
    const sig = signDigest(digest, privateKey);
    const v = tx.chainId * 2n + 35n + BigInt(sig[64]! - 27);
    return encodeRlp([...fields, bigintToBytes(v), ...rs(sig)]);
  }
  const fields: RlpItem[] = [
    bigintToBytes(tx.chainId),
    bigintToBytes(tx.nonce),
    bigintToBytes(tx.maxPriorityFeePerGas ?? 0n),
    bigintToBytes(tx.maxFeePerGas ?? 0n),
    bigintToBytes(tx.gasLimit),
    to,
    bigintToBytes(tx.value),
    new Uint8Array(0),
    [],
  ];
  const digest = keccak256(concatBytes(Uint8Array.of(EIP1559_TX_TYPE), encodeRlp(fields)));
  const sig = signDigest(digest, privateKey);
  return concatBytes(
    Uint8Array.of(EIP1559_TX_TYPE),
    encodeRlp([...fields, bigintToBytes(BigInt(sig[64]! - 27)), ...rs(sig)]),
  );
}

/** r and s of a 65-byte signature as canonical RLP integers. */
function rs(sig: Uint8Array): [Uint8Array, Uint8Array] {
  const strip = (b: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.slice(i);
  };
  return [strip(sig.subarray(0, 32)), strip(sig.subarray(32, 64))];
}

function bytesFromAddress(a: Address): Uint8Array {
  return hexToBytes(a);
}

/**
 * The gas price a transaction pays per unit of gas used. AIVM has no base fee that is burned: its
 * floor is auth.minGasPriceWei, and every fee goes to the fee collector. An AIVM or legacy
 * transaction pays its gasPrice; an EIP-1559 one pays min(maxFeePerGas, minGasPriceWei +
 * maxPriorityFeePerGas), reading the floor as the base fee (what eth_getBlockByNumber reports as
 * baseFeePerGas). Its maxFeePerGas must reach the floor (UNDERPRICED otherwise), and the sender
 * must be able to pay gasLimit * maxFeePerGas up front, as in Ethereum.
 */
export function effectiveGasPrice(tx: Pick<SignedTx, 'gasPrice' | 'eth'>, minGasPriceWei: bigint): bigint {
  const tip = tx.eth?.maxPriorityFeePerGas;
  if (tip === undefined) return tx.gasPrice;
  const capped = minGasPriceWei + tip;
  if (capped < tx.gasPrice) return capped;
  return tx.gasPrice;
}

/**
 * What a sender must hold for the transaction to enter a block: its maximum fee, plus for an
 * Ethereum transfer its value (Ethereum refuses a transfer the sender cannot cover; an AIVM
 * message's amounts are checked by its handler).
 */
export function txUpfrontCost(tx: Pick<SignedTx, 'gasLimit' | 'gasPrice' | 'eth'>): bigint {
  return tx.gasLimit * tx.gasPrice + (tx.eth?.value ?? 0n);
}
