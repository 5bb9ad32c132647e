// Transactions: one message in an envelope signed as EIP-712 typed data, so any Ethereum wallet
// library can sign it. Wire form: RLP [chainId, from, nonce, gasLimit, gasPrice, msgType, msg, sig].
// Browser-safe: the SDK builds and signs transactions with this file.

import {
  CodecError,
  decodeRaw,
  decodeRlp,
  eip712Types,
  encodeRaw,
  encodeRlp,
  type RlpItem,
  type StructType,
  t,
  toTypedMessage,
} from '@aivm/codec';
import {
  type Address,
  bigintToBytes,
  bytesToHex,
  type Hex,
  hashTypedData,
  keccak256,
  recoverAddress,
  signDigest,
  type TypedData,
} from '@aivm/crypto';
import { ERR, TxRejected } from './errors.ts';
import { decodeEthTx, type EthTxInfo } from './eth-tx.ts';

export const TX_MAX_BYTES = 64 * 1024;
export const EIP712_DOMAIN_NAME = 'AIVM';
export const EIP712_DOMAIN_VERSION = '1';

export type UnsignedTx = {
  chainId: bigint;
  from: Address;
  nonce: bigint;
  gasLimit: bigint;
  gasPrice: bigint;
  msgType: string;
  msg: Record<string, unknown>;
};

export type SignedTx = UnsignedTx & {
  signature: Uint8Array;
  /** keccak256 of the wire bytes (for an Ethereum-signed transfer, its Ethereum tx hash). */
  hash: Hex;
  raw: Uint8Array;
  /**
   * Present when the wire bytes are an Ethereum-signed transfer (eth-tx.ts): the transaction is
   * a `bank/send` whose `from` was recovered from those bytes and whose signature is
   * r || s || (27 + yParity) of the Ethereum signing payload, not of the EIP-712 envelope.
   */
  eth?: EthTxInfo;
};

/** Where transactions find the schema of their message (the chain's Registry, or the SDK's table). */
export type MsgSchemaLookup = (msgType: string) => StructType | undefined;

const envelopeCache = new WeakMap<StructType, StructType>();

/** The EIP-712 struct a wallet signs: the envelope with the message nested as `msg`. */
export function txEnvelopeSchema(msgSchema: StructType): StructType {
  let schema = envelopeCache.get(msgSchema);
  if (!schema) {
    schema = t.struct('Tx', {
      from: t.address,
      nonce: t.uint64,
      gasLimit: t.uint64,
      gasPrice: t.uint256,
      msgType: t.string(64),
      msg: msgSchema,
    });
    envelopeCache.set(msgSchema, schema);
  }
  return schema;
}

export function txTypedData(tx: UnsignedTx, msgSchema: StructType): TypedData {
  const schema = txEnvelopeSchema(msgSchema);
  const { chainId, ...body } = tx;
  return {
    domain: { name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, chainId },
    types: eip712Types(schema),
    primaryType: 'Tx',
    message: toTypedMessage(schema, body as never),
  };
}

/**
 * The EIP-712 struct a model's owner signs so that a node opens the upload of its artifact blob
 * (nodes open uploads only for published models, and only for their owner; see docs/security.md).
 */
export const BLOB_UPLOAD_TYPES = {
  BlobUpload: [
    { name: 'id', type: 'string' },
    { name: 'size', type: 'uint64' },
  ],
};

/** The typed data signed to open the upload of blob `id` (the model id) of `size` bytes on chain `chainId`. */
export function blobUploadTypedData(chainId: bigint, id: string, size: number): TypedData {
  return {
    domain: { name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, chainId },
    types: BLOB_UPLOAD_TYPES,
    primaryType: 'BlobUpload',
    message: { id, size },
  };
}

export function txSigningDigest(tx: UnsignedTx, msgSchema: StructType): Uint8Array {
  return hashTypedData(txTypedData(tx, msgSchema));
}

/**
 * Refuses every signature encoding but the one a transaction may carry: r(32) || s(32) || v(1)
 * with v = 27 + recovery id, i.e. 27 or 28 (a high s is refused by recovery, in @aivm/crypto).
 * 27/28 is what signTx (signDigest), viem's and ethers' signTypedData and hardware wallets'
 * EIP-712 signing produce, so every supported signer's output is accepted unchanged, and encodeTx
 * normalizes a bare 0/1 from any other signer. Anything else (v as 0/1, EIP-155-style v, a
 * 64-byte EIP-2098 compact signature) would be a second spelling of the same signature, and so a
 * second hash of the same transaction that anyone could make from a pending one.
 * Throws TxRejected(BAD_SIGNATURE).
 */
export function assertCanonicalSignatureEncoding(signature: Uint8Array): void {
  if (signature.length !== 65) {
    throw new TxRejected(
      ERR.BAD_SIGNATURE,
      `invalid signature: must be 65 bytes (r || s || v), got ${signature.length}`,
    );
  }
  const v = signature[64]!;
  if (v !== 27 && v !== 28) {
    throw new TxRejected(
      ERR.BAD_SIGNATURE,
      `invalid signature: v must be 27 or 28 (the one accepted encoding; 0/1 is refused), got ${v}`,
    );
  }
}

/**
 * Wire bytes of a transaction signed elsewhere (e.g. by a wallet's signTypedData). A signature
 * whose v is a bare recovery id (0/1, as some signers and yParity-style APIs return) is
 * normalized to 27/28, the only v nodes accept; any other signature bytes go out unchanged.
 */
export function encodeTx(tx: UnsignedTx, signature: Uint8Array, msgSchema: StructType): Uint8Array {
  if (signature.length === 65 && (signature[64] === 0 || signature[64] === 1)) {
    const normalized = signature.slice();
    normalized[64] = 27 + signature[64]!;
    signature = normalized;
  }
  return encodeRlp([
    bigintToBytes(tx.chainId),
    encodeRaw(t.address, tx.from),
    bigintToBytes(tx.nonce),
    bigintToBytes(tx.gasLimit),
    bigintToBytes(tx.gasPrice),
    encodeRaw(t.string(64), tx.msgType),
    encodeRaw(msgSchema, tx.msg as never),
    signature,
  ]);
}

export function signTx(tx: UnsignedTx, privateKey: Uint8Array, msgSchema: StructType): Uint8Array {
  return encodeTx(tx, signDigest(txSigningDigest(tx, msgSchema), privateKey), msgSchema);
}

/**
 * Strict decoding of wire bytes; every failure is a TxRejected with a stable code. Three forms:
 * the AIVM transaction (an RLP list of 8 items), and Ethereum-signed transfers (eth-tx.ts): a
 * legacy EIP-155 one (an RLP list of 9 items) or an EIP-1559 one (first byte 0x02; any other
 * first byte below 0x80 is an Ethereum transaction type AIVM refuses). An Ethereum transfer's
 * sender is recovered here (or read from `knownSender`, filled only by whoever recovered it from
 * the same bytes before).
 */
export function decodeTx(
  raw: Uint8Array,
  lookup: MsgSchemaLookup,
  knownSender?: (hash: Hex) => Address | undefined,
): SignedTx {
  if (raw.length > TX_MAX_BYTES) {
    throw new TxRejected(ERR.TX_TOO_LARGE, `transaction is ${raw.length} bytes, limit ${TX_MAX_BYTES}`);
  }
  if (raw.length > 0 && raw[0]! <= 0x7f) return decodeEth(raw, undefined, lookup, knownSender);
  try {
    const items = decodeRlp(raw);
    if (!(items instanceof Uint8Array) && items.length === 9)
      return decodeEth(raw, items, lookup, knownSender);
    if (items instanceof Uint8Array || items.length !== 8) {
      throw new CodecError('', 'a transaction is a list of 8 items (or an Ethereum transaction)');
    }
    const msgType = decodeRaw(t.string(64), items[5]!, 'msgType');
    const msgSchema = lookup(msgType);
    if (!msgSchema) throw new TxRejected(ERR.UNKNOWN_MESSAGE, `unknown message type: ${msgType}`);
    const signature = items[7]!;
    if (!(signature instanceof Uint8Array)) throw new CodecError('signature', 'expected bytes');
    const tx: SignedTx = {
      chainId: decodeRaw(t.uint64, items[0]!, 'chainId'),
      from: decodeRaw(t.address, items[1]!, 'from'),
      nonce: decodeRaw(t.uint64, items[2]!, 'nonce'),
      gasLimit: decodeRaw(t.uint64, items[3]!, 'gasLimit'),
      gasPrice: decodeRaw(t.uint256, items[4]!, 'gasPrice'),
      msgType,
      msg: decodeRaw(msgSchema, items[6]!, 'msg') as Record<string, unknown>,
      signature,
      hash: bytesToHex(keccak256(raw)),
      raw,
    };
    // Refused before the hash is used anywhere: one transaction, one signature spelling, one hash.
    assertCanonicalSignatureEncoding(signature);
    return tx;
  } catch (err) {
    if (err instanceof TxRejected) throw err;
    throw new TxRejected(ERR.TX_DECODE, `malformed transaction: ${(err as Error).message}`);
  }
}

function decodeEth(
  raw: Uint8Array,
  items: RlpItem[] | undefined,
  lookup: MsgSchemaLookup,
  knownSender: ((hash: Hex) => Address | undefined) | undefined,
): SignedTx {
  const tx = decodeEthTx(raw, items, knownSender);
  if (!lookup(tx.msgType)) throw new TxRejected(ERR.UNKNOWN_MESSAGE, `unknown message type: ${tx.msgType}`);
  return tx;
}

/**
 * Recovers the signer and checks it is `from`. An Ethereum-signed transfer's `from` is its
 * recovered signer (decodeTx): its bytes are decoded again, so a SignedTx built by hand cannot
 * pass with another `from`.
 */
export function verifyTxSignature(tx: SignedTx, msgSchema: StructType): Address {
  if (tx.eth) {
    const signer = decodeEthTx(tx.raw, undefined).from;
    if (signer.toLowerCase() !== tx.from.toLowerCase()) {
      throw new TxRejected(ERR.BAD_SIGNATURE, `signature is by ${signer}, not by sender ${tx.from}`);
    }
    return signer;
  }
  assertCanonicalSignatureEncoding(tx.signature);
  let signer: Address;
  try {
    signer = recoverAddress(txSigningDigest(tx, msgSchema), tx.signature);
  } catch (err) {
    throw new TxRejected(ERR.BAD_SIGNATURE, `invalid signature: ${(err as Error).message}`);
  }
  if (signer.toLowerCase() !== tx.from.toLowerCase()) {
    throw new TxRejected(ERR.BAD_SIGNATURE, `signature is by ${signer}, not by sender ${tx.from}`);
  }
  return signer;
}
