// Chunked uploads of artifact blobs over JSON-RPC. The client names the blob by its id (computed
// from the bytes up front) and size, then sends fixed-size chunks in any order; the node holds at
// most `maxUploads` uploads in memory, drops idle ones, and stores a blob only once its whole content
// hashes to the id (BlobStore.receive/finish).

import {
  BlobArgumentError,
  BlobCorruptError,
  BlobError,
  BlobNotFoundError,
  type BlobStore,
  BlobTooLargeError,
  type BlobUpload,
  DEFAULT_MAX_BLOB_BYTES,
  parseBlobId,
} from '@aivm/blobs';
import type { BlobInfo, BlobUploadState } from './api.ts';

export type BlobLimits = {
  /** Largest blob stored, uploaded or replicated, in bytes (default 64 MiB). */
  maxBlobBytes: number;
  /** Uploads held in memory at once (each up to maxBlobBytes); default 4. */
  maxUploads: number;
  /** An upload that receives no chunk for this long is dropped; default 120 000. */
  uploadIdleMs: number;
};

export const DEFAULT_BLOB_LIMITS: BlobLimits = {
  maxBlobBytes: DEFAULT_MAX_BLOB_BYTES,
  maxUploads: 4,
  uploadIdleMs: 120_000,
};

/** The limits with defaults filled in; throws BlobArgumentError on a bad value. */
export function resolveBlobLimits(given: Partial<BlobLimits> = {}): BlobLimits {
  const limits = { ...DEFAULT_BLOB_LIMITS, ...given };
  if (!Number.isSafeInteger(limits.maxBlobBytes) || limits.maxBlobBytes < 1)
    throw new BlobArgumentError(`maxBlobBytes must be a positive integer, got ${limits.maxBlobBytes}`);
  if (!Number.isSafeInteger(limits.maxUploads) || limits.maxUploads < 1)
    throw new BlobArgumentError(`maxUploads must be a positive integer, got ${limits.maxUploads}`);
  if (!(typeof limits.uploadIdleMs === 'number' && limits.uploadIdleMs > 0))
    throw new BlobArgumentError(`uploadIdleMs must be positive, got ${limits.uploadIdleMs}`);
  return limits;
}

/** Every upload slot is taken by an active upload; retry later. */
export class BlobUploadCapacityError extends BlobError {
  override name = 'BlobUploadCapacityError';
  constructor(maxUploads: number) {
    super(`the node already holds ${maxUploads} uploads in progress; retry later`);
  }
}

/** The blob is not stored here and could not be fetched (no p2p network, or no peer serves it). */
export class BlobUnavailableError extends BlobNotFoundError {
  override name = 'BlobUnavailableError';
  constructor(id: string, reason: string) {
    super(id);
    this.message = `blob ${id} is not available: ${reason}`;
  }
}

type Session = { upload: BlobUpload; lastActive: number; queue: Promise<unknown> };

export class BlobUploads {
  readonly #store: BlobStore;
  readonly #limits: BlobLimits;
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(store: BlobStore, limits: Partial<BlobLimits> = {}, now: () => number = Date.now) {
    this.#store = store;
    this.#limits = resolveBlobLimits(limits);
    this.#now = now;
    const every = Math.max(50, Math.min(10_000, this.#limits.uploadIdleMs / 4));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  /** Uploads in progress. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Adds chunk `index` (chunk size: the store's, 256 KiB) of blob `id` of `size` bytes. The first
   * chunk opens the upload; the last one verifies the whole blob against its id and stores it.
   */
  async addChunk(id: string, size: number, index: number, data: Uint8Array): Promise<BlobUploadState> {
    parseBlobId(id);
    if (!Number.isSafeInteger(size) || size < 1)
      throw new BlobArgumentError(`size must be a positive integer, got ${size}`);
    if (size > this.#store.maxBlobBytes) throw new BlobTooLargeError(size, this.#store.maxBlobBytes);
    let session = this.#sessions.get(id);
    if (!session) {
      const stored = await this.#store.stat(id);
      if (stored) {
        checkSize(id, stored.size, size);
        return { id, size, complete: true, missing: [] };
      }
      session = this.#sessions.get(id); // another request may have opened it meanwhile
      if (!session) {
        if (this.#sessions.size >= this.#limits.maxUploads) this.#sweep();
        if (this.#sessions.size >= this.#limits.maxUploads)
          throw new BlobUploadCapacityError(this.#limits.maxUploads);
        session = {
          upload: this.#store.receive(id, size),
          lastActive: this.#now(),
          queue: Promise.resolve(),
        };
        this.#sessions.set(id, session);
      }
    }
    checkSize(id, session.upload.size, size);
    const s = session;
    s.lastActive = this.#now();
    // One chunk at a time per upload: the last chunk's finish() must not race another addChunk.
    const run = s.queue.then(async (): Promise<BlobUploadState> => {
      if (this.#sessions.get(id) !== s) return this.addChunk(id, size, index, data); // finished or dropped
      s.upload.addChunk(index, data);
      s.lastActive = this.#now();
      if (s.upload.received < s.upload.chunks) {
        return { id, size, complete: false, missing: s.upload.missing() };
      }
      try {
        await s.upload.finish();
      } catch (err) {
        if (err instanceof BlobCorruptError) {
          // The client's bytes are not the blob it named: drop the upload and free its slot.
          s.upload.abort();
          this.#sessions.delete(id);
        }
        throw err;
      }
      this.#sessions.delete(id);
      return { id, size, complete: true, missing: [] };
    });
    s.queue = run.catch(() => {});
    return run;
  }

  /** A stored blob, or an upload in progress (complete false), or undefined. */
  async stat(id: string): Promise<BlobInfo | undefined> {
    const stored = await this.#store.stat(id);
    if (stored) return { ...stored, complete: true };
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    const u = s.upload;
    return { size: u.size, chunks: u.chunks, chunkBytes: u.chunkBytes, chunkHashes: [], complete: false };
  }

  /** Drops every upload in progress. */
  close(): void {
    clearInterval(this.#sweeper);
    for (const s of this.#sessions.values()) s.upload.abort();
    this.#sessions.clear();
  }

  #sweep(): void {
    const cutoff = this.#now() - this.#limits.uploadIdleMs;
    for (const [id, s] of this.#sessions) {
      if (s.lastActive <= cutoff) {
        s.upload.abort();
        this.#sessions.delete(id);
      }
    }
  }
}

function checkSize(id: string, have: number, given: number): void {
  if (have !== given) throw new BlobArgumentError(`blob ${id} has ${have} bytes, not ${given}`);
}
