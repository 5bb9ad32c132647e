// What the client returns: the node's JSON with integers of 64+ bits back as bigint. Hashes,
// bytes and addresses stay 0x strings (what wallets and explorers show and compare).

import type { Address, Hex, TypedData } from '@aivm/crypto';
import type { StateProof } from '@aivm/state/proof';

export type { AccountInfo, NodeStatus, ProvenValue, TxDraft } from '@aivm/chain';
export type { Address, Hex, StateProof };

/** A block header as the node returns it, integers as bigint. */
export type HeaderView = {
  chainId: bigint;
  height: bigint;
  timeMs: bigint;
  parentHash: Hex;
  stateRoot: Hex;
  txRoot: Hex;
  resultsRoot: Hex;
  validatorSetHash: Hex;
  lastCommitHash: Hex;
  gasUsed: bigint;
  proposer: Address;
};

/** An event of a receipt: its module, type and key/value attributes as strings. */
export type ReceiptEventView = { module: string; type: string; attributes: { key: string; value: string }[] };

/** The receipt of a committed transaction: outcome, gas, fee and events. */
export type ReceiptView = {
  txHash: Hex;
  /** code === 0. */
  success: boolean;
  /** 0 on success, else the chain's failure code (ERR in @aivm/chain): stable, what the block hashes. */
  code: number;
  gasUsed: bigint;
  feeWei: bigint;
  /** Empty on success; the failure for people (at most 512 bytes, not part of consensus). */
  error: string;
  events: ReceiptEventView[];
};

/** A receipt with the block and position of its transaction. */
export type ReceiptRecord = ReceiptView & { blockHash: Hex; height: bigint; index: number };

/** A signed transaction as the node returns it. */
export type TxView = {
  hash: Hex;
  chainId: bigint;
  from: Address;
  nonce: bigint;
  gasLimit: bigint;
  gasPrice: bigint;
  msgType: string;
  /** The message in its JSON form (integers as decimal strings, bytes as hex). */
  msg: Record<string, unknown>;
  signature: Hex;
};

/** A committed transaction with its block, position and receipt. */
export type TxRecord = TxView & { blockHash: Hex; height: bigint; index: number; receipt: ReceiptView };

/**
 * Where a transaction stands on the node asked: committed (at `height`), pending in its mempool,
 * dropped from it without being committed (`reason` for people, `code` the chain's stable code
 * where one applies), or unknown to it (never seen, or dropped too long ago).
 */
export type TxStatus =
  | { status: 'committed'; height: bigint }
  | { status: 'pending' }
  | { status: 'dropped'; reason: string; code?: number }
  | { status: 'unknown' };

/** One validator's precommit signature in a block's last commit. */
export type CommitSigView = { validator: Address; signature: Hex };

/** The parent's commit carried by a block: the round it was decided in and the precommit signatures. */
export type LastCommitView = { round: number; signatures: CommitSigView[] };

/** A block as the node returns it: hash, header, transactions and the parent's commit. */
export type BlockView = {
  hash: Hex;
  header: HeaderView;
  /** Transaction hashes, or decoded transactions when asked with fullTxs. */
  txs: Hex[] | TxView[];
  /** Present with fullTxs. */
  receipts?: ReceiptView[];
  lastCommit: LastCommitView;
};

/** Which block to read: by height or hash (the latest when both are omitted), optionally with full transactions. */
export type BlockRef = { height?: bigint | number; hash?: Hex; fullTxs?: boolean };

/** A `newBlocks` subscription event: a block was committed. */
export type NewBlockEvent = { hash: Hex; height: bigint; header: HeaderView };
/** A `txResults` subscription event: a transaction was committed, with its receipt. */
export type TxResultEvent = { hash: Hex; height: bigint; index: number; receipt: ReceiptView };
/** An `events` subscription event: a module event, its attributes as a record of strings. */
export type ModuleEvent = {
  module: string;
  type: string;
  attributes: Record<string, string>;
  height: bigint;
  /** Null for events of block hooks. */
  txHash: Hex | null;
};

/** The event type delivered for each subscription topic. */
export type SubscriptionEvents = { newBlocks: NewBlockEvent; txResults: TxResultEvent; events: ModuleEvent };
/** A subscription topic: `newBlocks`, `txResults` or `events`. */
export type SubscriptionTopic = keyof SubscriptionEvents;
/** Narrows a subscription to events of a module, an event type or a transaction. */
export type SubscriptionFilter = { module?: string; type?: string; txHash?: Hex };

/** A blob on the node (complete), or an upload in progress (complete false, chunkHashes empty). */
export type BlobStat = {
  size: number;
  chunks: number;
  chunkBytes: number;
  /** Lowercase hex sha256 of each chunk (no 0x). */
  chunkHashes: string[];
  complete: boolean;
};

/** Progress of an {@link AivmClient.uploadBlob} call, reported after every chunk the node accepted. */
export type BlobUploadProgress = {
  id: string;
  sentBytes: number;
  totalBytes: number;
  chunks: number;
  sentChunks: number;
};

/** Signs blob uploads: a Wallet, anything with signTypedData, or a raw secp256k1 private key. */
export type BlobUploadSigner =
  | Uint8Array
  | {
      /** Signs EIP-712 typed data and returns the signature bytes. */
      signTypedData(td: TypedData): Uint8Array | Promise<Uint8Array>;
    };

/** Options of {@link AivmClient.uploadBlob}. */
export type UploadBlobOptions = {
  /** Called after every chunk the node accepted. */
  onProgress?: (progress: BlobUploadProgress) => void;
  /** Chunk requests in flight at once; default 2. */
  concurrency?: number;
  /**
   * The owner of the published model whose artifact this is: nodes open an upload only for a
   * published model and only when its owner signed it (blobUploadTypedData).
   */
  signer?: BlobUploadSigner;
  /**
   * How long to keep retrying while every upload slot of the node, or this client's share of them,
   * is busy with uploads that make progress; default 60 000.
   */
  slotWaitMs?: number;
};
