// What a running node offers to its interfaces (JSON-RPC, WebSocket, CLI in-process). The RPC layer
// only translates between JSON and these calls; it holds no chain logic of its own.

import type {
  AccountInfo,
  Block,
  ChainEvent,
  NodeStatus,
  ProvenValue,
  Receipt,
  Registry,
  SignedTx,
  TxDraft,
} from '@aivm/chain';

import type { Address, Hex } from '@aivm/crypto';
import type { AttestationView } from './attestations.ts';

export type { AccountInfo, AttestationView, NodeStatus, ProvenValue, TxDraft };

export type BlockRecord = { hash: Hex; block: Block; receipts: Receipt[] };
export type TxRecord = { tx: SignedTx; blockHash: Hex; height: bigint; index: number; receipt: Receipt };

/**
 * Where an admitted transaction stands on this node: committed (at `height`), pending in the
 * mempool, dropped from it without being committed (with the reason and, where one applies, the
 * chain's code; remembered for the most recently dropped ones only), or unknown to the node.
 */
export type TxStatus =
  | { status: 'committed'; height: bigint }
  | { status: 'pending' }
  | { status: 'dropped'; reason: string; code?: number }
  | { status: 'unknown' };

/** A blob stored on the node (complete) or being uploaded to it (complete false, chunkHashes empty). */
export type BlobInfo = {
  size: number;
  chunks: number;
  chunkBytes: number;
  /** Lowercase hex sha256 of each chunk, in order. */
  chunkHashes: string[];
  complete: boolean;
};

/**
 * Who sends an upload chunk: the RPC client key (remote IP; per-client limits are charged to it)
 * and the model owner's EIP-712 BlobUpload signature that authorizes the upload.
 */
export type UploadRequester = { client: string; signature?: Uint8Array };

/** Where a chunked upload stands after a chunk: `missing` lists the chunk indexes still owed. */
export type BlobUploadState = { id: string; size: number; complete: boolean; missing: number[] };

export type NodeEvents = {
  block: (record: BlockRecord) => void;
  /** One per transaction of a committed block. */
  txResult: (record: TxRecord) => void;
  /** Module events of committed blocks (from receipts and block hooks). */
  moduleEvent: (event: ChainEvent & { height: bigint; txHash: Hex | null }) => void;
};

export interface NodeApi {
  readonly chainId: bigint;
  /** Message and query schemas, for JSON conversion and the method catalogue. */
  readonly registry: Registry;
  status(): NodeStatus;
  /** Latest block when neither is given. */
  getBlock(ref: { height?: bigint; hash?: Hex }): Promise<BlockRecord | undefined>;
  getTx(hash: Hex): Promise<TxRecord | undefined>;
  /** Committed, pending, dropped (with the reason) or unknown. */
  getTxStatus(hash: Hex): Promise<TxStatus>;
  getAccount(address: Address): Promise<AccountInfo>;
  /** Inclusion (or exclusion) proof of a raw state key against the state root of `height` (default latest). */
  getProof(key: Uint8Array, height?: bigint): Promise<ProvenValue>;
  /** Admits a signed transaction to the mempool; throws TxRejected (with a stable code) otherwise. */
  sendRawTx(raw: Uint8Array): Promise<Hex>;
  /** Gas a transaction would use on top of the latest state. Throws ModuleError if it would fail. */
  estimateGas(draft: TxDraft): Promise<bigint>;
  /** Read-only module query, e.g. path "bank/balance" with params { address }. */
  query(path: string, params: unknown): Promise<unknown>;
  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void;
  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void;
  /**
   * Artifact blobs (model ids = blob ids). Optional: an API without them answers the blob RPC
   * methods with METHOD_NOT_SUPPORTED. Errors are the typed errors of @aivm/blobs.
   */
  blobUploadChunk?(
    id: string,
    size: number,
    index: number,
    data: Uint8Array,
    from: UploadRequester,
  ): Promise<BlobUploadState>;
  /** A stored blob or an upload in progress; undefined when neither. */
  blobStat?(id: string): Promise<BlobInfo | undefined>;
  /** Chunk `index` of a stored blob, verified against its hash. */
  blobChunk?(id: string, index: number): Promise<Uint8Array>;
  /**
   * Validators' attestations (docs/evm.md) this node collected: of a finalized request's result, and
   * of an attestation set by the set before it. Undefined when it has none. Optional: an API
   * without them answers METHOD_NOT_SUPPORTED.
   */
  getAttestations?(requestId: bigint): Promise<AttestationView | undefined>;
  getValidatorSetAttestation?(setId: bigint): Promise<AttestationView | undefined>;
}
