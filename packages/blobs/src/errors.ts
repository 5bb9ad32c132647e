// Typed errors of the blob store. Every failure a caller (RPC, p2p) must tell apart has its own class.

/** Base class of every error thrown by @aivm/blobs. */
export class BlobError extends Error {
  override name = 'BlobError';
}

/** An argument is malformed or out of range (index, size, chunk length, options). */
export class BlobArgumentError extends BlobError {
  override name = 'BlobArgumentError';
}

/** A blob id is not a canonical CIDv1 (raw codec, sha2-256) base32 string. */
export class InvalidBlobIdError extends BlobArgumentError {
  override name = 'InvalidBlobIdError';
  readonly id: unknown;
  constructor(id: unknown, reason: string) {
    super(
      `invalid blob id ${typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id}: ${reason}`,
    );
    this.id = id;
  }
}

/** A blob (or an announced upload) is larger than the store's limit. Nothing was stored. */
export class BlobTooLargeError extends BlobError {
  override name = 'BlobTooLargeError';
  readonly size: number;
  readonly maxBytes: number;
  constructor(size: number, maxBytes: number) {
    super(`blob of ${size} bytes exceeds the limit of ${maxBytes} bytes`);
    this.size = size;
    this.maxBytes = maxBytes;
  }
}

/** No blob with this id is stored. */
export class BlobNotFoundError extends BlobError {
  override name = 'BlobNotFoundError';
  readonly id: string;
  constructor(id: string) {
    super(`blob ${id} not found`);
    this.id = id;
  }
}

/** Stored or received bytes do not match their hash or the blob id. Unverified bytes are never returned. */
export class BlobCorruptError extends BlobError {
  override name = 'BlobCorruptError';
  readonly id: string;
  constructor(id: string, detail: string) {
    super(`blob ${id} is corrupt: ${detail}`);
    this.id = id;
  }
}

/** `finish()` was called on an upload that still lacks chunks. */
export class BlobIncompleteError extends BlobError {
  override name = 'BlobIncompleteError';
  readonly id: string;
  readonly missing: number[];
  constructor(id: string, missing: number[]) {
    super(`blob ${id} upload is missing ${missing.length} chunk(s), first ${missing[0]}`);
    this.id = id;
    this.missing = missing;
  }
}

/** The upload was already finished (or the store closed) and takes no more calls. */
export class BlobUploadClosedError extends BlobError {
  override name = 'BlobUploadClosedError';
}
