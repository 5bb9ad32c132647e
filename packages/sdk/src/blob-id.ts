// Blob ids: a blob's id is the runtime's model id of its bytes (CIDv1, raw codec, sha2-256), so the
// SDK reuses the browser-safe runtime core rather than a second CID encoder.

import { modelId } from '@aivm/runtime/core';

/** Chunk size of blob uploads and downloads over JSON-RPC (fixed by the node). */
export const BLOB_CHUNK_BYTES = 256 * 1024;

/** The blob id (= model id) of some bytes. */
export const blobId: (bytes: Uint8Array) => string = modelId;
