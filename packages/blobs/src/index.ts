// @aivm/blobs: the node's content-addressed, chunked blob store for model artifacts (issue 6).

export { BLOB_ID_LENGTH, blobId, parseBlobId } from './cid.ts';
export {
  BlobArgumentError,
  BlobCorruptError,
  BlobError,
  BlobIncompleteError,
  BlobNotFoundError,
  BlobTooLargeError,
  BlobUploadClosedError,
  InvalidBlobIdError,
} from './errors.ts';
export {
  type BlobStat,
  BlobStore,
  type BlobStoreOptions,
  BlobUpload,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_BLOB_BYTES,
  MAX_CHUNK_BYTES,
  type PutResult,
  type ReceiveOptions,
} from './store.ts';
