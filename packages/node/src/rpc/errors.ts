// JSON-RPC error codes and the one mapping from thrown errors to error objects. Chain errors keep
// their stable codes (ERR in @aivm/chain); anything unexpected becomes -32603 without details.

import {
  BlobArgumentError,
  BlobCorruptError,
  BlobNotFoundError,
  BlobTooLargeError,
  InvalidBlobIdError,
} from '@aivm/blobs';
import { ChainError, ERR } from '@aivm/chain';
import { BlobNotPublishedError, BlobUploadUnauthorizedError } from '../blob-upload-auth.ts';
import { BlobUploadCapacityError, BlobUploadClientLimitError } from '../blob-uploads.ts';

/** Protocol-level codes (JSON-RPC 2.0 and EIP-1474). Never renumber. */
export const RPC_ERR = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** The method exists but not on this transport (subscriptions over HTTP). */
  METHOD_NOT_SUPPORTED: -32004,
  /** Body, batch, connection, subscription or per-client upload limit exceeded. */
  LIMIT_EXCEEDED: -32005,
  /**
   * The eth_* methods' answer to a refused transaction or call (what Ethereum nodes and wallets use):
   * the message starts with the phrase wallets recognise, data.code holds the chain's ERR code.
   */
  ETH_SERVER_ERROR: -32000,
} as const;

/**
 * Application codes of the node's artifact blob methods (the chain's ERR codes stay below 2000).
 * Never renumber.
 */
export const BLOB_ERR = {
  /** Not a canonical blob id (CIDv1, raw codec, sha2-256, base32 lower: what modelId returns). */
  INVALID_ID: 2001,
  /** The blob is larger than the node's limit (maxBlobBytes, default 64 MiB). */
  TOO_LARGE: 2002,
  /** The bytes do not hash to the blob id (upload refused), or a stored blob failed verification. */
  CORRUPT: 2003,
  /** Every upload slot of the node is taken by an upload in progress; retry later. */
  UPLOAD_CAPACITY: 2004,
  /** No blob with this id is stored on the node. */
  NOT_FOUND: 2005,
  /** No model that is uploading or active names this blob: send models/publish first. */
  NOT_PUBLISHED: 2006,
  /** The upload is not signed (EIP-712 BlobUpload) by the owner of the model that names the blob. */
  UPLOAD_UNAUTHORIZED: 2007,
} as const;

export type RpcErrorObject = { code: number; message: string; data?: unknown };

/** Thrown inside the RPC layer for protocol errors; carries the code to answer with. */
export class RpcFailure extends Error {
  readonly code: number;
  readonly data?: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'RpcFailure';
    this.code = code;
    this.data = data;
  }
}

/** Every error code a client may see, with what it means (for OpenRPC and docs). */
export const ERROR_CATALOGUE: readonly { code: number; name: string; message: string }[] = [
  { code: RPC_ERR.PARSE_ERROR, name: 'PARSE_ERROR', message: 'The body is not valid JSON' },
  { code: RPC_ERR.INVALID_REQUEST, name: 'INVALID_REQUEST', message: 'Not a JSON-RPC 2.0 request object' },
  { code: RPC_ERR.METHOD_NOT_FOUND, name: 'METHOD_NOT_FOUND', message: 'No such method' },
  {
    code: RPC_ERR.INVALID_PARAMS,
    name: 'INVALID_PARAMS',
    message: 'Invalid params; the message names the field',
  },
  {
    code: RPC_ERR.INTERNAL_ERROR,
    name: 'INTERNAL_ERROR',
    message: 'Internal error (details are in the node log)',
  },
  {
    code: RPC_ERR.METHOD_NOT_SUPPORTED,
    name: 'METHOD_NOT_SUPPORTED',
    message: 'Method not available on this transport (subscriptions need WebSocket)',
  },
  {
    code: RPC_ERR.LIMIT_EXCEEDED,
    name: 'LIMIT_EXCEEDED',
    message:
      'Request body, batch, connection, subscription or upload limit exceeded (node-wide or per client)',
  },
  {
    code: RPC_ERR.ETH_SERVER_ERROR,
    name: 'ETH_SERVER_ERROR',
    message:
      "eth_* methods: transaction or call refused; the message gives the chain's reason (Ethereum wording first), data.code its ERR code",
  },
  { code: ERR.TX_DECODE, name: 'TX_DECODE', message: 'Malformed transaction bytes' },
  { code: ERR.WRONG_CHAIN, name: 'WRONG_CHAIN', message: 'Transaction signed for another chain id' },
  { code: ERR.BAD_SIGNATURE, name: 'BAD_SIGNATURE', message: 'Signature invalid or not by the sender' },
  { code: ERR.NONCE_TOO_LOW, name: 'NONCE_TOO_LOW', message: 'Nonce already used' },
  { code: ERR.NONCE_GAP, name: 'NONCE_GAP', message: 'Nonce leaves a gap' },
  {
    code: ERR.INSUFFICIENT_FUNDS,
    name: 'INSUFFICIENT_FUNDS',
    message: 'Balance cannot pay the fee or amount',
  },
  { code: ERR.MEMPOOL_FULL, name: 'MEMPOOL_FULL', message: 'Mempool is full' },
  { code: ERR.TX_TOO_LARGE, name: 'TX_TOO_LARGE', message: 'Transaction larger than 64 KiB' },
  { code: ERR.UNDERPRICED, name: 'UNDERPRICED', message: 'Gas price below the minimum' },
  { code: ERR.UNKNOWN_MESSAGE, name: 'UNKNOWN_MESSAGE', message: 'Unknown message type' },
  { code: ERR.GAS_LIMIT, name: 'GAS_LIMIT', message: 'Gas limit below intrinsic cost or above the maximum' },
  { code: ERR.ALREADY_KNOWN, name: 'ALREADY_KNOWN', message: 'Transaction already in the mempool' },
  {
    code: ERR.UNSUPPORTED_TX,
    name: 'UNSUPPORTED_TX',
    message:
      'Ethereum transaction AIVM does not execute (contract creation, call data, access list, other type)',
  },
  { code: ERR.MODULE, name: 'MODULE', message: 'A module refused the message' },
  { code: ERR.OUT_OF_GAS, name: 'OUT_OF_GAS', message: 'Execution ran out of gas' },
  { code: ERR.INVALID_BLOCK, name: 'INVALID_BLOCK', message: 'Invalid block' },
  { code: ERR.NOT_FOUND, name: 'NOT_FOUND', message: 'Not found (unknown query path, pruned height, ...)' },
  {
    code: BLOB_ERR.INVALID_ID,
    name: 'BLOB_INVALID_ID',
    message: 'Not a blob id (CIDv1 raw sha2-256 base32, as modelId returns)',
  },
  { code: BLOB_ERR.TOO_LARGE, name: 'BLOB_TOO_LARGE', message: "Blob larger than the node's limit" },
  {
    code: BLOB_ERR.CORRUPT,
    name: 'BLOB_CORRUPT',
    message: 'Blob bytes do not hash to its id (the upload is dropped)',
  },
  {
    code: BLOB_ERR.UPLOAD_CAPACITY,
    name: 'BLOB_UPLOAD_CAPACITY',
    message: 'Too many blob uploads in progress; retry later',
  },
  { code: BLOB_ERR.NOT_FOUND, name: 'BLOB_NOT_FOUND', message: 'No blob with this id is stored' },
  {
    code: BLOB_ERR.NOT_PUBLISHED,
    name: 'BLOB_NOT_PUBLISHED',
    message: 'No model uploading or active names this blob; send models/publish first',
  },
  {
    code: BLOB_ERR.UPLOAD_UNAUTHORIZED,
    name: 'BLOB_UPLOAD_UNAUTHORIZED',
    message: "The upload is not signed by the owner of the blob's model",
  },
];

/** The RPC code of an @aivm/blobs error (or the node's upload errors), undefined for anything else. */
function blobErrorCode(err: unknown): number | undefined {
  if (err instanceof InvalidBlobIdError) return BLOB_ERR.INVALID_ID;
  if (err instanceof BlobTooLargeError) return BLOB_ERR.TOO_LARGE;
  if (err instanceof BlobCorruptError) return BLOB_ERR.CORRUPT;
  if (err instanceof BlobUploadCapacityError) return BLOB_ERR.UPLOAD_CAPACITY;
  if (err instanceof BlobUploadClientLimitError) return RPC_ERR.LIMIT_EXCEEDED;
  if (err instanceof BlobNotPublishedError) return BLOB_ERR.NOT_PUBLISHED;
  if (err instanceof BlobUploadUnauthorizedError) return BLOB_ERR.UPLOAD_UNAUTHORIZED;
  if (err instanceof BlobNotFoundError) return BLOB_ERR.NOT_FOUND;
  if (err instanceof BlobArgumentError) return RPC_ERR.INVALID_PARAMS;
  return undefined;
}

const CHAIN_CODE_MIN = 1000;
const CHAIN_CODE_MAX = 4999;

function isChainError(err: unknown): err is { code: number; message: string } {
  if (err instanceof ChainError) return true;
  // Tolerates a second copy of @aivm/chain (instanceof fails across copies) without letting
  // arbitrary numeric codes from other libraries through.
  const code = (err as { code?: unknown } | null)?.code;
  return (
    err instanceof Error &&
    typeof code === 'number' &&
    Number.isInteger(code) &&
    code >= CHAIN_CODE_MIN &&
    code <= CHAIN_CODE_MAX
  );
}

export type ErrorOutcome = 'invalid' | 'chain_error' | 'internal_error' | 'limit';

/** Maps anything thrown by a handler to the error object sent to the client. */
export function toErrorObject(err: unknown): { error: RpcErrorObject; outcome: ErrorOutcome } {
  if (err instanceof RpcFailure) {
    const error: RpcErrorObject = { code: err.code, message: err.message };
    if (err.data !== undefined) error.data = err.data;
    return { error, outcome: err.code === RPC_ERR.LIMIT_EXCEEDED ? 'limit' : 'invalid' };
  }
  const blobCode = blobErrorCode(err);
  if (blobCode !== undefined) {
    const message =
      blobCode === RPC_ERR.INVALID_PARAMS
        ? `invalid params: ${(err as Error).message}`
        : (err as Error).message;
    const outcome =
      blobCode === RPC_ERR.INVALID_PARAMS
        ? 'invalid'
        : blobCode === RPC_ERR.LIMIT_EXCEEDED
          ? 'limit'
          : 'chain_error';
    return { error: { code: blobCode, message }, outcome };
  }
  if (isChainError(err)) return { error: { code: err.code, message: err.message }, outcome: 'chain_error' };
  // The node decodes JSON params with the codec; its CodecError names the offending field.
  if (err instanceof Error && err.name === 'CodecError') {
    return {
      error: { code: RPC_ERR.INVALID_PARAMS, message: `invalid params: ${err.message}` },
      outcome: 'invalid',
    };
  }
  return { error: { code: RPC_ERR.INTERNAL_ERROR, message: 'internal error' }, outcome: 'internal_error' };
}

/** The phrase Ethereum nodes start these refusals with (wallets and viem match on it). */
const ETH_PHRASES: Readonly<Record<number, string>> = {
  [ERR.INSUFFICIENT_FUNDS]: 'insufficient funds for gas * price + value',
  [ERR.NONCE_TOO_LOW]: 'nonce too low',
  [ERR.NONCE_GAP]: 'nonce too high',
  [ERR.UNDERPRICED]: 'transaction underpriced',
  [ERR.ALREADY_KNOWN]: 'already known',
  [ERR.WRONG_CHAIN]: 'invalid chain id',
  [ERR.GAS_LIMIT]: 'intrinsic gas too low or gas limit too high',
  [ERR.TX_TOO_LARGE]: 'oversized data',
  [ERR.BAD_SIGNATURE]: 'invalid sender',
  [ERR.TX_DECODE]: 'rlp: invalid transaction',
  [ERR.MEMPOOL_FULL]: 'txpool is full',
  [ERR.OUT_OF_GAS]: 'out of gas',
};

/**
 * The error mapping of the eth_* methods: chain errors become -32000 (what Ethereum nodes answer),
 * with the Ethereum phrase then the chain's reason, and `data: { code, name }` carrying the chain's
 * ERR code; protocol errors (-32602 ...) are as toErrorObject gives them.
 */
export function toEthErrorObject(err: unknown): { error: RpcErrorObject; outcome: ErrorOutcome } {
  const mapped = toErrorObject(err);
  if (mapped.outcome !== 'chain_error') return mapped;
  const { code, message } = mapped.error;
  const phrase = ETH_PHRASES[code];
  const name = ERROR_CATALOGUE.find((e) => e.code === code)?.name ?? 'ERROR';
  return {
    error: {
      code: RPC_ERR.ETH_SERVER_ERROR,
      message: phrase && !message.startsWith(phrase) ? `${phrase}: ${message}` : message,
      data: { code, name },
    },
    outcome: 'chain_error',
  };
}
