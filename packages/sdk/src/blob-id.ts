// Blob ids: a blob's id is the runtime's model id of its bytes (CIDv1, raw codec, sha2-256), so the
// SDK reuses the browser-safe runtime core rather than a second CID encoder.

import { EIP712_DOMAIN_NAME, EIP712_DOMAIN_VERSION } from '@aivm/chain/tx';
import type { TypedData } from '@aivm/crypto';
import { modelId } from '@aivm/runtime/core';

/** Chunk size of blob uploads and downloads over JSON-RPC (fixed by the node). */
export const BLOB_CHUNK_BYTES = 256 * 1024;

/** The blob id (= model id) of some bytes. */
export const blobId: (bytes: Uint8Array) => string = modelId;

/** The EIP-712 struct a model's owner signs to upload its artifact blob (the node checks it). */
export const BLOB_UPLOAD_TYPES = {
  BlobUpload: [
    { name: 'id', type: 'string' },
    { name: 'size', type: 'uint64' },
  ],
};

/**
 * The typed data a model's owner signs so that a node opens the upload of its artifact blob `id`
 * of `size` bytes (nodes open uploads only for published models, and only for their owner).
 */
export function blobUploadTypedData(chainId: bigint, id: string, size: number): TypedData {
  return {
    domain: { name: EIP712_DOMAIN_NAME, version: EIP712_DOMAIN_VERSION, chainId },
    types: BLOB_UPLOAD_TYPES,
    primaryType: 'BlobUpload',
    message: { id, size },
  };
}
