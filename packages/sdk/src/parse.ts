// JSON from the node -> typed values (bigint for integers of 64+ bits), checking shapes as it goes
// so a wrong answer fails here, with the field named, and not later in the caller's code.

import { bytesToHex } from '@aivm/crypto';
import type {
  AccountInfo,
  Address,
  BlobStat,
  BlockView,
  CommitSigView,
  HeaderView,
  Hex,
  LastCommitView,
  ModuleEvent,
  NewBlockEvent,
  NodeStatus,
  ProvenValue,
  ReceiptEventView,
  ReceiptRecord,
  ReceiptView,
  StateProof,
  SubscriptionEvents,
  SubscriptionTopic,
  TxRecord,
  TxResultEvent,
  TxStatus,
  TxView,
} from './types.ts';

/** The node answered with something this client does not understand. */
export class MalformedResponseError extends Error {
  constructor(field: string, detail: string) {
    super(`malformed response from node: ${field}: ${detail}`);
    this.name = 'MalformedResponseError';
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, field: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new MalformedResponseError(field, 'expected an object');
  return v as Obj;
}

function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new MalformedResponseError(field, 'expected an array');
  return v;
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new MalformedResponseError(field, 'expected a string');
  return v;
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new MalformedResponseError(field, 'expected an integer');
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new MalformedResponseError(field, 'expected a boolean');
  return v;
}

const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

export function big(v: unknown, field: string): bigint {
  if (typeof v === 'string' && DECIMAL_RE.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new MalformedResponseError(field, 'expected a decimal integer string');
}

function hex(v: unknown, field: string): Hex {
  if (typeof v !== 'string' || !HEX_RE.test(v)) throw new MalformedResponseError(field, 'expected 0x hex');
  return v as Hex;
}

function address(v: unknown, field: string): Address {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v))
    throw new MalformedResponseError(field, 'expected an address');
  return v as Address;
}

export function parseStatus(v: unknown): NodeStatus {
  const o = obj(v, 'status');
  const mempool = obj(o.mempool, 'mempool');
  return {
    chainId: big(o.chainId, 'chainId'),
    genesisHash: hex(o.genesisHash, 'genesisHash'),
    height: big(o.height, 'height'),
    headHash: hex(o.headHash, 'headHash'),
    stateRoot: hex(o.stateRoot, 'stateRoot'),
    timeMs: big(o.timeMs, 'timeMs'),
    mempool: { count: num(mempool.count, 'mempool.count'), bytes: num(mempool.bytes, 'mempool.bytes') },
    validator: o.validator === null ? null : address(o.validator, 'validator'),
    version: str(o.version, 'version'),
  };
}

export function parseHeader(v: unknown, field = 'header'): HeaderView {
  const o = obj(v, field);
  return {
    chainId: big(o.chainId, `${field}.chainId`),
    height: big(o.height, `${field}.height`),
    timeMs: big(o.timeMs, `${field}.timeMs`),
    parentHash: hex(o.parentHash, `${field}.parentHash`),
    stateRoot: hex(o.stateRoot, `${field}.stateRoot`),
    txRoot: hex(o.txRoot, `${field}.txRoot`),
    resultsRoot: hex(o.resultsRoot, `${field}.resultsRoot`),
    validatorSetHash: hex(o.validatorSetHash, `${field}.validatorSetHash`),
    lastCommitHash: hex(o.lastCommitHash, `${field}.lastCommitHash`),
    gasUsed: big(o.gasUsed, `${field}.gasUsed`),
    proposer: address(o.proposer, `${field}.proposer`),
  };
}

export function parseReceipt(v: unknown, field = 'receipt'): ReceiptView {
  const o = obj(v, field);
  return {
    txHash: hex(o.txHash, `${field}.txHash`),
    success: bool(o.success, `${field}.success`),
    code: num(o.code, `${field}.code`),
    gasUsed: big(o.gasUsed, `${field}.gasUsed`),
    feeWei: big(o.feeWei, `${field}.feeWei`),
    error: str(o.error, `${field}.error`),
    events: arr(o.events, `${field}.events`).map((e, i): ReceiptEventView => {
      const f = `${field}.events[${i}]`;
      const ev = obj(e, f);
      return {
        module: str(ev.module, `${f}.module`),
        type: str(ev.type, `${f}.type`),
        attributes: arr(ev.attributes, `${f}.attributes`).map((a, j) => {
          const at = obj(a, `${f}.attributes[${j}]`);
          return {
            key: str(at.key, `${f}.attributes[${j}].key`),
            value: str(at.value, `${f}.attributes[${j}].value`),
          };
        }),
      };
    }),
  };
}

export function parseReceiptRecord(v: unknown): ReceiptRecord {
  const o = obj(v, 'receipt');
  return {
    ...parseReceipt(o),
    blockHash: hex(o.blockHash, 'blockHash'),
    height: big(o.height, 'height'),
    index: num(o.index, 'index'),
  };
}

export function parseTx(v: unknown, field = 'tx'): TxView {
  const o = obj(v, field);
  return {
    hash: hex(o.hash, `${field}.hash`),
    chainId: big(o.chainId, `${field}.chainId`),
    from: address(o.from, `${field}.from`),
    nonce: big(o.nonce, `${field}.nonce`),
    gasLimit: big(o.gasLimit, `${field}.gasLimit`),
    gasPrice: big(o.gasPrice, `${field}.gasPrice`),
    msgType: str(o.msgType, `${field}.msgType`),
    msg: obj(o.msg, `${field}.msg`),
    signature: hex(o.signature, `${field}.signature`),
  };
}

export function parseTxRecord(v: unknown): TxRecord {
  const o = obj(v, 'tx');
  return {
    ...parseTx(o),
    blockHash: hex(o.blockHash, 'blockHash'),
    height: big(o.height, 'height'),
    index: num(o.index, 'index'),
    receipt: parseReceipt(o.receipt),
  };
}

export function parseTxStatus(v: unknown): TxStatus {
  const o = obj(v, 'txStatus');
  const status = str(o.status, 'status');
  switch (status) {
    case 'committed':
      return { status, height: big(o.height, 'height') };
    case 'dropped': {
      const out: TxStatus = { status, reason: str(o.reason, 'reason') };
      if (o.code !== undefined) out.code = num(o.code, 'code');
      return out;
    }
    case 'pending':
    case 'unknown':
      return { status };
    default:
      throw new MalformedResponseError('status', `unknown status ${JSON.stringify(status)}`);
  }
}

function parseLastCommit(v: unknown): LastCommitView {
  const o = obj(v, 'lastCommit');
  return {
    round: num(o.round, 'lastCommit.round'),
    signatures: arr(o.signatures, 'lastCommit.signatures').map((c, i): CommitSigView => {
      const s = obj(c, `lastCommit.signatures[${i}]`);
      return {
        validator: address(s.validator, `lastCommit.signatures[${i}].validator`),
        signature: hex(s.signature, `lastCommit.signatures[${i}].signature`),
      };
    }),
  };
}

export function parseBlock(v: unknown): BlockView {
  const o = obj(v, 'block');
  const txs = arr(o.txs, 'txs');
  const block: BlockView = {
    hash: hex(o.hash, 'hash'),
    header: parseHeader(o.header),
    txs: txs.every((t) => typeof t === 'string')
      ? txs.map((t, i) => hex(t, `txs[${i}]`))
      : txs.map((t, i) => parseTx(t, `txs[${i}]`)),
    lastCommit: parseLastCommit(o.lastCommit),
  };
  if (o.receipts !== undefined) {
    block.receipts = arr(o.receipts, 'receipts').map((r, i) => parseReceipt(r, `receipts[${i}]`));
  }
  return block;
}

export function parseAccount(v: unknown): AccountInfo {
  const o = obj(v, 'account');
  return {
    address: address(o.address, 'address'),
    nonce: big(o.nonce, 'nonce'),
    pendingNonce: big(o.pendingNonce, 'pendingNonce'),
    balanceWei: big(o.balanceWei, 'balanceWei'),
  };
}

export function parseProof(v: unknown): ProvenValue {
  const o = obj(v, 'proof');
  const p = obj(o.proof, 'proof.proof');
  const proof: StateProof = {
    key: hex(p.key, 'proof.key'),
    value: p.value === null ? null : hex(p.value, 'proof.value'),
    root: hex(p.root, 'proof.root'),
    siblings: arr(p.siblings, 'proof.siblings').map((s, i) => hex(s, `proof.siblings[${i}]`)),
  };
  if (p.leaf !== undefined) {
    const leaf = obj(p.leaf, 'proof.leaf');
    proof.leaf = {
      keyHash: hex(leaf.keyHash, 'proof.leaf.keyHash'),
      valueHash: hex(leaf.valueHash, 'proof.leaf.valueHash'),
    };
  }
  return { height: big(o.height, 'height'), proof };
}

function parseNewBlock(v: unknown): NewBlockEvent {
  const o = obj(v, 'newBlock');
  return { hash: hex(o.hash, 'hash'), height: big(o.height, 'height'), header: parseHeader(o.header) };
}

function parseTxResult(v: unknown): TxResultEvent {
  const o = obj(v, 'txResult');
  return {
    hash: hex(o.hash, 'hash'),
    height: big(o.height, 'height'),
    index: num(o.index, 'index'),
    receipt: parseReceipt(o.receipt),
  };
}

function parseModuleEvent(v: unknown): ModuleEvent {
  const o = obj(v, 'event');
  const attrs = obj(o.attributes, 'attributes');
  return {
    module: str(o.module, 'module'),
    type: str(o.type, 'type'),
    attributes: Object.fromEntries(Object.entries(attrs).map(([k, a]) => [k, str(a, `attributes.${k}`)])),
    height: big(o.height, 'height'),
    txHash: o.txHash === null ? null : hex(o.txHash, 'txHash'),
  };
}

export function parseEvent<T extends SubscriptionTopic>(topic: T, v: unknown): SubscriptionEvents[T] {
  switch (topic) {
    case 'newBlocks':
      return parseNewBlock(v) as SubscriptionEvents[T];
    case 'txResults':
      return parseTxResult(v) as SubscriptionEvents[T];
    default:
      return parseModuleEvent(v) as SubscriptionEvents[T];
  }
}

/** Values -> JSON form for params: bigint as decimal string, bytes as hex; undefined fields dropped. */
export function toJsonParams(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return value.map(toJsonParams);
  if (typeof value === 'object' && value !== null) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJsonParams(v);
    return out;
  }
  return value;
}

const CHUNK_HASH_RE = /^[0-9a-f]{64}$/;

export function parseBlobStat(v: unknown): BlobStat {
  const o = obj(v, 'blob');
  const stat: BlobStat = {
    size: num(o.size, 'blob.size'),
    chunks: num(o.chunks, 'blob.chunks'),
    chunkBytes: num(o.chunkBytes, 'blob.chunkBytes'),
    chunkHashes: arr(o.chunkHashes, 'blob.chunkHashes').map((h, i) => {
      const s = str(h, `blob.chunkHashes[${i}]`);
      if (!CHUNK_HASH_RE.test(s))
        throw new MalformedResponseError(`blob.chunkHashes[${i}]`, 'expected 64 hex digits');
      return s;
    }),
    complete: bool(o.complete, 'blob.complete'),
  };
  if (stat.chunkBytes < 1 || stat.chunks !== Math.ceil(stat.size / stat.chunkBytes))
    throw new MalformedResponseError(
      'blob.chunks',
      `${stat.chunks} chunks of ${stat.chunkBytes} for ${stat.size} bytes`,
    );
  if (stat.complete && stat.chunkHashes.length !== stat.chunks)
    throw new MalformedResponseError(
      'blob.chunkHashes',
      `${stat.chunkHashes.length} hashes for ${stat.chunks} chunks`,
    );
  return stat;
}

export type BlobUploadAnswer = { id: string; size: number; complete: boolean; missing: number[] };

export function parseBlobUpload(v: unknown): BlobUploadAnswer {
  const o = obj(v, 'upload');
  return {
    id: str(o.id, 'upload.id'),
    size: num(o.size, 'upload.size'),
    complete: bool(o.complete, 'upload.complete'),
    missing: arr(o.missing, 'upload.missing').map((m, i) => num(m, `upload.missing[${i}]`)),
  };
}
