// The node's content-addressed blob store for model artifacts (issue 6). A blob is cut into chunks,
// each stored under its sha256; a manifest (size, chunk size, chunk hashes) is stored under the blob's
// digest in the same atomic LevelDB batch, so a crash leaves the whole blob or none of it. Reads verify
// every chunk hash and the blob id before returning anything. Blobs can also be received chunk by chunk
// (RPC upload, p2p replication) and are committed only once their content hashes to the announced id.

import { type BatchOp, Database } from '@aivm/state';
import { idFromDigest, parseBlobId, sha256 } from './cid.ts';
import {
  BlobArgumentError,
  BlobCorruptError,
  BlobError,
  BlobIncompleteError,
  BlobNotFoundError,
  BlobTooLargeError,
  BlobUploadClosedError,
} from './errors.ts';
import {
  chunkCount,
  chunkKey,
  chunkLength,
  decodeManifest,
  encodeManifest,
  MANIFEST_PREFIX,
  type Manifest,
  manifestKey,
} from './layout.ts';

export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CHUNK_BYTES = 256 * 1024;
/** Largest chunk size accepted (options, received blobs): keeps one p2p/RPC message bounded. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

export type BlobStoreOptions = {
  /** Largest blob stored or received, in bytes (default 64 MiB). */
  maxBlobBytes?: number;
  /** Chunk size for blobs written by this store (default 256 KiB, at most 16 MiB). */
  chunkBytes?: number;
};

export type PutResult = { id: string; size: number; chunks: number };

/** A stored blob's manifest; `chunkHashes` are lowercase hex sha256 of each chunk, in order. */
export type BlobStat = { size: number; chunks: number; chunkBytes: number; chunkHashes: string[] };

export type ReceiveOptions = {
  /** Chunk size the sender uses (default: this store's). */
  chunkBytes?: number;
  /** The sender's chunk hashes (e.g. a peer's `stat`): each chunk is then checked as it arrives. */
  chunkHashes?: string[];
};

export class BlobStore {
  readonly maxBlobBytes: number;
  readonly chunkBytes: number;
  readonly #db: Database;
  #closed = false;
  /**
   * Writes (commits and deletes) one at a time: chunks are shared between blobs (dedupe), so a
   * delete deciding which chunks are unreferenced must not interleave with a commit that refers to
   * one of them again.
   */
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(db: Database, maxBlobBytes: number, chunkBytes: number) {
    this.#db = db;
    this.maxBlobBytes = maxBlobBytes;
    this.chunkBytes = chunkBytes;
  }

  /** Opens (creating if needed) a blob store in its own LevelDB directory `path`. */
  static async open(path: string, opts: BlobStoreOptions = {}): Promise<BlobStore> {
    if (typeof path !== 'string' || path === '')
      throw new BlobArgumentError('path must be a non-empty string');
    if (opts === null || typeof opts !== 'object') throw new BlobArgumentError('options must be an object');
    const maxBlobBytes = opts.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
    if (!Number.isSafeInteger(maxBlobBytes) || maxBlobBytes < 0) {
      throw new BlobArgumentError(`maxBlobBytes must be a non-negative integer, got ${maxBlobBytes}`);
    }
    const chunkBytes = checkChunkBytes(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    return new BlobStore(await Database.open(path), maxBlobBytes, chunkBytes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
  }

  /** Stores `bytes` (idempotent); returns its id (= `modelId(bytes)`), size and chunk count. */
  async put(bytes: Uint8Array): Promise<PutResult> {
    this.#open();
    if (!(bytes instanceof Uint8Array)) throw new BlobArgumentError('put expects a Uint8Array');
    if (bytes.length > this.maxBlobBytes) throw new BlobTooLargeError(bytes.length, this.maxBlobBytes);
    // Copy first: the caller may reuse its buffer while the write is in flight.
    const copy = bytes.slice();
    const digest = sha256(copy);
    const chunks: Uint8Array[] = [];
    for (let off = 0; off < copy.length; off += this.chunkBytes) {
      chunks.push(copy.subarray(off, Math.min(off + this.chunkBytes, copy.length)));
    }
    return this.#commit(digest, copy.length, this.chunkBytes, chunks);
  }

  /** Whether a blob with this id is stored (manifest present; `get` still verifies the content). */
  async has(id: string): Promise<boolean> {
    this.#open();
    const digest = parseBlobId(id);
    return (await this.#db.get(manifestKey(digest))) !== undefined;
  }

  /** The stored blob's manifest, or undefined when absent. */
  async stat(id: string): Promise<BlobStat | undefined> {
    this.#open();
    const digest = parseBlobId(id);
    const m = await this.#manifest(id, digest);
    if (m === undefined) return undefined;
    return {
      size: m.size,
      chunks: m.chunkHashes.length,
      chunkBytes: m.chunkBytes,
      chunkHashes: m.chunkHashes.map(toHex),
    };
  }

  /** The whole blob, verified chunk by chunk and against its id. */
  async get(id: string): Promise<Uint8Array> {
    this.#open();
    const digest = parseBlobId(id);
    const m = await this.#manifest(id, digest);
    if (m === undefined) throw new BlobNotFoundError(id);
    const values = await this.#db.getMany(m.chunkHashes.map(chunkKey));
    const out = new Uint8Array(m.size);
    for (let i = 0; i < values.length; i++) {
      out.set(verifyChunk(id, m, i, values[i]), i * m.chunkBytes);
    }
    if (!equal(sha256(out), digest)) throw new BlobCorruptError(id, 'content does not hash to the id');
    return out;
  }

  /** Chunk `index` of a stored blob, verified against its hash (for serving peers). */
  async getChunk(id: string, index: number): Promise<Uint8Array> {
    this.#open();
    const digest = parseBlobId(id);
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new BlobArgumentError(`chunk index must be a non-negative integer, got ${index}`);
    }
    const m = await this.#manifest(id, digest);
    if (m === undefined) throw new BlobNotFoundError(id);
    if (index >= m.chunkHashes.length) {
      throw new BlobArgumentError(
        `chunk index ${index} out of range: blob ${id} has ${m.chunkHashes.length}`,
      );
    }
    return verifyChunk(id, m, index, await this.#db.get(chunkKey(m.chunkHashes[index]!)));
  }

  /**
   * Starts receiving blob `id` of `size` bytes in chunks (any order). Nothing is stored until
   * `finish()` has checked that the content hashes to `id`. Memory held: at most `size` bytes.
   */
  receive(id: string, size: number, opts: ReceiveOptions = {}): BlobUpload {
    this.#open();
    const digest = parseBlobId(id);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new BlobArgumentError(`size must be a non-negative integer, got ${size}`);
    }
    if (size > this.maxBlobBytes) throw new BlobTooLargeError(size, this.maxBlobBytes);
    if (opts === null || typeof opts !== 'object') throw new BlobArgumentError('options must be an object');
    const chunkBytes = checkChunkBytes(opts.chunkBytes ?? this.chunkBytes);
    const n = chunkCount(size, chunkBytes);
    let hashes: Uint8Array[] | undefined;
    if (opts.chunkHashes !== undefined) {
      if (!Array.isArray(opts.chunkHashes) || opts.chunkHashes.length !== n) {
        throw new BlobArgumentError(`chunkHashes must be an array of ${n} hashes`);
      }
      hashes = opts.chunkHashes.map((h, i) => {
        const b = typeof h === 'string' ? fromHex(h) : undefined;
        if (b === undefined || b.length !== 32) {
          throw new BlobArgumentError(`chunkHashes[${i}] is not a 64-digit lowercase hex sha256`);
        }
        return b;
      });
    }
    return new BlobUpload(id, digest, size, chunkBytes, hashes, (chunks) =>
      this.#commit(digest, size, chunkBytes, chunks).then(() => undefined),
    );
  }

  /** Ids of every stored blob, in key order. */
  async list(): Promise<string[]> {
    this.#open();
    const ids: string[] = [];
    for await (const [key] of this.#manifests()) ids.push(idFromDigest(key.subarray(1)));
    return ids;
  }

  /**
   * Deletes a stored blob: its manifest and the chunks no other stored blob shares, in one atomic
   * batch. Returns the bytes freed (0 when it was not stored). Used by garbage collection of blobs
   * no model names any more.
   */
  async delete(id: string): Promise<number> {
    this.#open();
    const digest = parseBlobId(id);
    return this.#serialized(async () => {
      const m = await this.#manifest(id, digest);
      if (m === undefined) return 0;
      const own = new Map(m.chunkHashes.map((h) => [toHex(h), h]));
      for await (const [key, raw] of this.#manifests()) {
        if (equal(key.subarray(1), digest)) continue;
        const other = decodeManifest(raw);
        if (typeof other === 'string') continue; // a damaged manifest keeps nothing alive
        for (const h of other.chunkHashes) own.delete(toHex(h));
      }
      const ops: BatchOp[] = [{ type: 'del', key: manifestKey(digest) }];
      for (const h of own.values()) ops.push({ type: 'del', key: chunkKey(h) });
      await this.#db.write(ops);
      return m.size;
    });
  }

  /** Every stored manifest, as [key, raw value]. */
  #manifests(): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.#db.iterate({ gte: Uint8Array.of(MANIFEST_PREFIX), lt: Uint8Array.of(MANIFEST_PREFIX + 1) });
  }

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(fn);
    this.#writes = run.catch(() => {});
    return run;
  }

  #open(): void {
    if (this.#closed) throw new BlobError('blob store is closed');
  }

  async #manifest(id: string, digest: Uint8Array): Promise<Manifest | undefined> {
    const raw = await this.#db.get(manifestKey(digest));
    if (raw === undefined) return undefined;
    const m = decodeManifest(raw);
    if (typeof m === 'string') throw new BlobCorruptError(id, m);
    return m;
  }

  /** Writes the chunks not already stored intact and the manifest, in one atomic batch. */
  #commit(digest: Uint8Array, size: number, chunkBytes: number, chunks: Uint8Array[]): Promise<PutResult> {
    this.#open();
    return this.#serialized(() => this.#write(digest, size, chunkBytes, chunks));
  }

  async #write(
    digest: Uint8Array,
    size: number,
    chunkBytes: number,
    chunks: Uint8Array[],
  ): Promise<PutResult> {
    const hashes = chunks.map(sha256);
    const unique = new Map<string, { hash: Uint8Array; bytes: Uint8Array }>();
    hashes.forEach((hash, i) => {
      unique.set(toHex(hash), { hash, bytes: chunks[i]! });
    });
    const entries = [...unique.values()];
    const stored = await this.#db.getMany(entries.map((e) => chunkKey(e.hash)));
    const ops: BatchOp[] = [];
    entries.forEach((e, i) => {
      const have = stored[i];
      // Skip chunks already stored intact (dedupe); rewrite missing or damaged ones (repair).
      if (have === undefined || !equal(sha256(have), e.hash)) {
        ops.push({ type: 'put', key: chunkKey(e.hash), value: e.bytes });
      }
    });
    const manifest = encodeManifest({ size, chunkBytes, chunkHashes: hashes });
    const key = manifestKey(digest);
    const oldManifest = await this.#db.get(key);
    if (oldManifest === undefined || !equal(oldManifest, manifest))
      ops.push({ type: 'put', key, value: manifest });
    await this.#db.write(ops);
    return { id: idFromDigest(digest), size, chunks: chunks.length };
  }
}

/** A blob being received in chunks; create with `BlobStore.receive`. */
export class BlobUpload {
  readonly id: string;
  readonly size: number;
  readonly chunkBytes: number;
  /** Number of chunks the blob has. */
  readonly chunks: number;
  readonly #digest: Uint8Array;
  readonly #hashes: Uint8Array[] | undefined;
  readonly #commit: (chunks: Uint8Array[]) => Promise<void>;
  #parts: (Uint8Array | undefined)[];
  #received = 0;
  #state: 'open' | 'finishing' | 'closed' = 'open';

  /** @internal */
  constructor(
    id: string,
    digest: Uint8Array,
    size: number,
    chunkBytes: number,
    hashes: Uint8Array[] | undefined,
    commit: (chunks: Uint8Array[]) => Promise<void>,
  ) {
    this.id = id;
    this.size = size;
    this.chunkBytes = chunkBytes;
    this.chunks = chunkCount(size, chunkBytes);
    this.#digest = digest;
    this.#hashes = hashes;
    this.#commit = commit;
    this.#parts = new Array(this.chunks).fill(undefined);
  }

  /** Number of distinct chunks received so far. */
  get received(): number {
    return this.#received;
  }

  /**
   * Adds chunk `index` (copied). Its length must be `chunkBytes` (the last one: the remainder).
   * Adding an index again replaces it. With `chunkHashes` given, a wrong chunk throws BlobCorruptError.
   */
  addChunk(index: number, bytes: Uint8Array): void {
    if (this.#state !== 'open') throw new BlobUploadClosedError(`upload of ${this.id} is ${this.#state}`);
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.chunks) {
      throw new BlobArgumentError(`chunk index ${index} out of range [0, ${this.chunks})`);
    }
    if (!(bytes instanceof Uint8Array)) throw new BlobArgumentError('chunk must be a Uint8Array');
    const want = chunkLength(this.size, this.chunkBytes, index);
    if (bytes.length !== want) {
      throw new BlobArgumentError(`chunk ${index} has ${bytes.length} bytes, want ${want}`);
    }
    const expected = this.#hashes?.[index];
    if (expected !== undefined && !equal(sha256(bytes), expected)) {
      throw new BlobCorruptError(this.id, `chunk ${index} does not match its announced hash`);
    }
    if (this.#parts[index] === undefined) this.#received++;
    this.#parts[index] = bytes.slice();
  }

  /** Indexes of the chunks not yet received, ascending. */
  missing(): number[] {
    const out: number[] = [];
    this.#parts.forEach((p, i) => {
      if (p === undefined) out.push(i);
    });
    return out;
  }

  /**
   * Checks that all chunks are present and that the content hashes to the id, then stores the blob
   * atomically. On BlobIncompleteError or BlobCorruptError nothing is stored and the upload stays
   * open (chunks can be added or replaced and `finish` called again).
   */
  async finish(): Promise<void> {
    if (this.#state !== 'open') throw new BlobUploadClosedError(`upload of ${this.id} is ${this.#state}`);
    const missing = this.missing();
    if (missing.length > 0) throw new BlobIncompleteError(this.id, missing);
    const parts = this.#parts as Uint8Array[];
    const all = new Uint8Array(this.size);
    parts.forEach((p, i) => {
      all.set(p, i * this.chunkBytes);
    });
    if (!equal(sha256(all), this.#digest)) {
      throw new BlobCorruptError(this.id, 'received content does not hash to the id');
    }
    this.#state = 'finishing';
    try {
      await this.#commit(parts);
    } catch (err) {
      this.#state = 'open';
      throw err;
    }
    this.#state = 'closed';
    this.#parts = [];
  }

  /** Drops the received chunks; the upload takes no more calls. */
  abort(): void {
    this.#state = 'closed';
    this.#parts = [];
  }
}

function checkChunkBytes(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > MAX_CHUNK_BYTES) {
    throw new BlobArgumentError(`chunkBytes must be an integer in [1, ${MAX_CHUNK_BYTES}], got ${String(n)}`);
  }
  return n;
}

function verifyChunk(id: string, m: Manifest, index: number, value: Uint8Array | undefined): Uint8Array {
  if (value === undefined) throw new BlobCorruptError(id, `chunk ${index} is missing`);
  const want = chunkLength(m.size, m.chunkBytes, index);
  if (value.length !== want)
    throw new BlobCorruptError(id, `chunk ${index} has ${value.length} bytes, want ${want}`);
  if (!equal(sha256(value), m.chunkHashes[index]!)) {
    throw new BlobCorruptError(id, `chunk ${index} does not match its hash`);
  }
  return value;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function fromHex(s: string): Uint8Array | undefined {
  if (!/^[0-9a-f]*$/.test(s) || s.length % 2 !== 0) return undefined;
  return new Uint8Array(Buffer.from(s, 'hex'));
}
