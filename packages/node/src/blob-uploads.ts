// Chunked uploads of artifact blobs over JSON-RPC. The client names the blob by its id (computed
// from the bytes up front) and size, then sends fixed-size chunks in any order; the node stores a
// blob only once its whole content hashes to the id (BlobStore.receive/finish).
//
// Upload slots are scarce (each holds up to maxBlobBytes in memory), so (issue 13, attack 5):
// - an upload is opened only for a blob that a published model names, by a request its owner
//   signed (the authorizer, blob-upload-auth.ts): models/publish is the fee that buys the slot;
// - one client (RPC client key: remote IP) holds at most maxUploadsPerClient uploads;
// - only progress (a chunk the upload did not have) keeps an upload alive: re-sending a chunk does
//   not, and an upload without progress for uploadIdleMs is dropped;
// - when every slot is taken, a new upload takes the slot of one that has stalled (no progress for
//   uploadStallMs, or slower than minUploadBytesPerSec), so a publisher waits seconds, not until a
//   squatter gives up.

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
import type { BlobInfo, BlobUploadState, UploadRequester } from './api.ts';
import type { UploadAuthorizer } from './blob-upload-auth.ts';

export type BlobLimits = {
  /** Largest blob stored, uploaded or replicated, in bytes (default 64 MiB). */
  maxBlobBytes: number;
  /** Uploads held in memory at once, all clients together (each up to maxBlobBytes); default 4. */
  maxUploads: number;
  /** An upload that receives no new chunk for this long is dropped; default 120 000. */
  uploadIdleMs: number;
  /**
   * An upload with no new chunk for this long, or one that has run this long and averages less
   * than minUploadBytesPerSec, has stalled: a new upload may take its slot when none is free.
   * Default 10 000.
   */
  uploadStallMs: number;
  /** The slowest average an upload may keep without counting as stalled; default 64 KiB/s. */
  minUploadBytesPerSec: number;
};

export const DEFAULT_BLOB_LIMITS: BlobLimits = {
  maxBlobBytes: DEFAULT_MAX_BLOB_BYTES,
  maxUploads: 4,
  uploadIdleMs: 120_000,
  uploadStallMs: 10_000,
  minUploadBytesPerSec: 64 * 1024,
};

/** The limits with defaults filled in; throws BlobArgumentError on a bad value. */
export function resolveBlobLimits(given: Partial<BlobLimits> = {}): BlobLimits {
  const limits = { ...DEFAULT_BLOB_LIMITS, ...given };
  if (!Number.isSafeInteger(limits.maxBlobBytes) || limits.maxBlobBytes < 1)
    throw new BlobArgumentError(`maxBlobBytes must be a positive integer, got ${limits.maxBlobBytes}`);
  if (!Number.isSafeInteger(limits.maxUploads) || limits.maxUploads < 1)
    throw new BlobArgumentError(`maxUploads must be a positive integer, got ${limits.maxUploads}`);
  for (const name of ['uploadIdleMs', 'uploadStallMs'] as const)
    if (!(typeof limits[name] === 'number' && limits[name] > 0))
      throw new BlobArgumentError(`${name} must be positive, got ${limits[name]}`);
  if (!(typeof limits.minUploadBytesPerSec === 'number' && limits.minUploadBytesPerSec >= 0))
    throw new BlobArgumentError(
      `minUploadBytesPerSec must not be negative, got ${limits.minUploadBytesPerSec}`,
    );
  return limits;
}

/** Every upload slot is taken by an upload that is making progress; retry later. */
export class BlobUploadCapacityError extends BlobError {
  override name = 'BlobUploadCapacityError';
  constructor(maxUploads: number) {
    super(`the node already holds ${maxUploads} uploads in progress; retry later`);
  }
}

/** The client already has its share of uploads in progress. */
export class BlobUploadClientLimitError extends BlobError {
  override name = 'BlobUploadClientLimitError';
  constructor(client: string, limit: number) {
    super(`upload limit reached (${limit} in progress per client ${client}); finish or abandon one first`);
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

export type BlobUploadsOptions = {
  /** Uploads one client may have in progress at once; default 1 (RpcClientLimits.maxUploadsPerClient). */
  maxUploadsPerClient?: number;
  /** Checks every request that opens or adds to an upload; none: anyone may upload (tests of the store). */
  authorize?: UploadAuthorizer;
  /** Clock for the idle and stall limits (tests). */
  now?: () => number;
  /** Told when an upload is dropped to make room for another (logs). */
  onTakeover?: (dropped: { id: string; client: string }, by: { id: string; client: string }) => void;
};

type Session = {
  id: string;
  upload: BlobUpload;
  /** Client key of the request that opened it: the upload counts against that client's share. */
  client: string;
  /** The signature the authorizer accepted, hex: later chunks carrying it skip the recovery. */
  signatureHex: string | undefined;
  openedAt: number;
  /** When the upload last received a chunk it did not have. */
  lastProgress: number;
  queue: Promise<unknown>;
};

export class BlobUploads {
  readonly #store: BlobStore;
  readonly #limits: BlobLimits;
  readonly #perClient: number;
  readonly #authorize: UploadAuthorizer | undefined;
  readonly #onTakeover: BlobUploadsOptions['onTakeover'];
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(store: BlobStore, limits: Partial<BlobLimits> = {}, opts: BlobUploadsOptions = {}) {
    this.#store = store;
    this.#limits = resolveBlobLimits(limits);
    this.#perClient = opts.maxUploadsPerClient ?? 1;
    if (!Number.isSafeInteger(this.#perClient) || this.#perClient < 1)
      throw new BlobArgumentError(`maxUploadsPerClient must be a positive integer, got ${this.#perClient}`);
    this.#authorize = opts.authorize;
    this.#onTakeover = opts.onTakeover;
    this.#now = opts.now ?? Date.now;
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
   * chunk opens the upload (authorized, within the client's and the node's limits); the last one
   * verifies the whole blob against its id and stores it.
   */
  async addChunk(
    id: string,
    size: number,
    index: number,
    data: Uint8Array,
    from: UploadRequester = { client: 'local' },
  ): Promise<BlobUploadState> {
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
      await this.#authorize?.(id, size, from.signature);
      session = this.#sessions.get(id) ?? this.#open(id, size, from); // another request may have opened it meanwhile
    } else {
      checkSize(id, session.upload.size, size);
      // Every chunk is the owner's: a stranger must not feed chunks into (and so spoil) an upload.
      const signatureHex = from.signature && Buffer.from(from.signature).toString('hex');
      if (this.#authorize && (signatureHex === undefined || signatureHex !== session.signatureHex)) {
        await this.#authorize(id, size, from.signature);
      }
    }
    checkSize(id, session.upload.size, size);
    const s = session;
    // One chunk at a time per upload: the last chunk's finish() must not race another addChunk.
    const run = s.queue.then(async (): Promise<BlobUploadState> => {
      if (this.#sessions.get(id) !== s) return this.addChunk(id, size, index, data, from); // finished or dropped
      const before = s.upload.received;
      s.upload.addChunk(index, data);
      // Only a chunk the upload lacked counts as progress: a repeated one keeps nothing alive.
      if (s.upload.received > before) s.lastProgress = this.#now();
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

  /** Opens an upload within the client's share and the node's slots (taking a stalled one's if need be). */
  #open(id: string, size: number, from: UploadRequester): Session {
    const now = this.#now();
    const own = [...this.#sessions.values()].filter((s) => s.client === from.client);
    if (own.length >= this.#perClient) {
      // A client's own stalled upload (an interrupted publication) gives way to its new one.
      const stalled = own.find((s) => this.#stalled(s, now));
      if (!stalled) throw new BlobUploadClientLimitError(from.client, this.#perClient);
      this.#drop(stalled, { id, client: from.client });
    }
    if (this.#sessions.size >= this.#limits.maxUploads) this.#sweep();
    if (this.#sessions.size >= this.#limits.maxUploads) {
      // The slot of the upload that has gone longest without progress, if it has stalled.
      let victim: Session | undefined;
      for (const s of this.#sessions.values())
        if (this.#stalled(s, now) && (!victim || s.lastProgress < victim.lastProgress)) victim = s;
      if (!victim) throw new BlobUploadCapacityError(this.#limits.maxUploads);
      this.#drop(victim, { id, client: from.client });
    }
    const session: Session = {
      id,
      upload: this.#store.receive(id, size),
      client: from.client,
      signatureHex: from.signature && Buffer.from(from.signature).toString('hex'),
      openedAt: now,
      lastProgress: now,
      queue: Promise.resolve(),
    };
    this.#sessions.set(id, session);
    return session;
  }

  /** No new chunk for uploadStallMs, or (after that long) an average below minUploadBytesPerSec. */
  #stalled(s: Session, now: number): boolean {
    const { uploadStallMs, minUploadBytesPerSec } = this.#limits;
    if (now - s.lastProgress >= uploadStallMs) return true;
    const elapsedMs = now - s.openedAt;
    const receivedBytes = Math.min(s.upload.size, s.upload.received * s.upload.chunkBytes);
    return elapsedMs >= uploadStallMs && receivedBytes * 1000 < minUploadBytesPerSec * elapsedMs;
  }

  #drop(s: Session, by: { id: string; client: string }): void {
    s.upload.abort();
    this.#sessions.delete(s.id);
    this.#onTakeover?.({ id: s.id, client: s.client }, by);
  }

  #sweep(): void {
    const cutoff = this.#now() - this.#limits.uploadIdleMs;
    for (const [id, s] of this.#sessions) {
      if (s.lastProgress <= cutoff) {
        s.upload.abort();
        this.#sessions.delete(id);
      }
    }
  }
}

function checkSize(id: string, have: number, given: number): void {
  if (have !== given) throw new BlobArgumentError(`blob ${id} has ${have} bytes, not ${given}`);
}
