// Blob ids: a blob's id is the runtime's model id of its bytes (CIDv1, raw codec, sha2-256), so the
// SDK reuses the browser-safe runtime core rather than a second CID encoder.

import { BLOB_UPLOAD_TYPES, blobUploadTypedData } from '@aivm/chain/tx';
import { modelId } from '@aivm/runtime/core';

/** Chunk size of blob uploads and downloads over JSON-RPC (fixed by the node). */
export const BLOB_CHUNK_BYTES = 256 * 1024;

/** The blob id (= model id) of some bytes. */
export const blobId: (bytes: Uint8Array) => string = modelId;

/** What a model's owner signs so that a node opens the upload of its blob (defined by the chain). */
export { BLOB_UPLOAD_TYPES, blobUploadTypedData };
