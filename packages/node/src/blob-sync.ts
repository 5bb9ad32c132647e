// Replication of artifact blobs between nodes over the p2p request protocol. Two requests:
// `blob-stat` (id -> size, chunk size, chunk hashes) and `blob-chunk` (id, index -> chunk bytes).
// A node fetches a blob chunk by chunk from the peers that announce the same manifest, checks every
// chunk against its announced hash as it arrives and the whole blob against its id before storing it
// (BlobStore.receive), penalizes peers that serve bytes that do not match, and retries other peers
// with backoff. Blobs named by committed `models/published` events are fetched in the background,
// a few at a time; consensus never waits for any of it.

import {
  BLOB_ID_LENGTH,
  BlobArgumentError,
  BlobCorruptError,
  type BlobStore,
  parseBlobId,
} from '@aivm/blobs';
import { modelsEvents, type Receipt } from '@aivm/chain';
import { decode, encode, type Infer, t } from '@aivm/codec';
import { bytesToHex, sha256 } from '@aivm/crypto';
import type { P2P } from '@aivm/p2p';
import { BlobUnavailableError } from './blob-uploads.ts';
import type { Logger } from './logger.ts';

export const PROTOCOL_BLOB_STAT = 'blob-stat';
export const PROTOCOL_BLOB_CHUNK = 'blob-chunk';

/** Largest chunk accepted from a peer (fits a p2p response with room to spare). */
export const MAX_P2P_CHUNK_BYTES = 4 * 1024 * 1024;
/** Most chunks in a manifest announced over p2p (64 MiB at 1 KiB chunks). */
export const MAX_P2P_CHUNKS = 65_536;

export const BlobStatRequestSchema = t.struct('BlobStatRequest', { id: t.string(BLOB_ID_LENGTH) });
export const BlobStatResponseSchema = t.struct('BlobStatResponse', {
  found: t.bool,
  size: t.uint64,
  chunkBytes: t.uint32,
  /** 32-byte sha256 of each chunk, concatenated. */
  chunkHashes: t.bytes(32 * MAX_P2P_CHUNKS),
});
export const BlobChunkRequestSchema = t.struct('BlobChunkRequest', {
  id: t.string(BLOB_ID_LENGTH),
  index: t.uint32,
});

export type BlobSyncOptions = {
  store: BlobStore;
  p2p: P2P;
  logger: Logger;
  /** Blobs downloaded at once (each holds up to its size in memory); default 2. */
  maxConcurrentFetches?: number;
  /** Chunk requests in flight per blob; default 4. */
  chunkConcurrency?: number;
  /** Chunk and stat requests sent to one peer per second (below the peer's rate limit); default 10. */
  requestsPerSecondPerPeer?: number;
  /** Timeout of one chunk request; default 10 000. */
  requestTimeoutMs?: number;
  /** Consecutive failures (timeouts, errors) after which a peer is left out of a fetch; default 3. */
  maxPeerFailures?: number;
  /** Background replication: attempts per blob and the first retry delay (doubling); default 8, 2 000. */
  replicationAttempts?: number;
  replicationRetryMs?: number;
};

type Manifest = { size: number; chunkBytes: number; chunkHashes: string[] };

/** Ids of the blobs named by `models/published` events of successful transactions. */
export function publishedBlobIds(receipts: readonly Receipt[]): string[] {
  const ids = new Set<string>();
  for (const r of receipts) {
    if (r.code !== 0) continue;
    for (const e of r.events) {
      if (!modelsEvents.is(e, 'published')) continue;
      const id = e.attributes.find((a) => a.key === 'id')?.value;
      if (id === undefined) continue;
      try {
        parseBlobId(id);
        ids.add(id);
      } catch {
        // not a blob id: nothing to replicate
      }
    }
  }
  return [...ids];
}

export class BlobSync {
  readonly #o: Required<Omit<BlobSyncOptions, 'store' | 'p2p' | 'logger'>>;
  readonly #store: BlobStore;
  readonly #p2p: P2P;
  readonly #log: Logger;
  readonly #fetching = new Map<string, Promise<Uint8Array>>();
  readonly #replicating = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #nextSlot = new Map<string, number>();
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #stopped = false;

  constructor(opts: BlobSyncOptions) {
    this.#store = opts.store;
    this.#p2p = opts.p2p;
    this.#log = opts.logger;
    this.#o = {
      maxConcurrentFetches: opts.maxConcurrentFetches ?? 2,
      chunkConcurrency: opts.chunkConcurrency ?? 4,
      requestsPerSecondPerPeer: opts.requestsPerSecondPerPeer ?? 10,
      requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
      maxPeerFailures: opts.maxPeerFailures ?? 3,
      replicationAttempts: opts.replicationAttempts ?? 8,
      replicationRetryMs: opts.replicationRetryMs ?? 2_000,
    };
    opts.p2p.handle(PROTOCOL_BLOB_STAT, (req) => this.#serveStat(req));
    opts.p2p.handle(PROTOCOL_BLOB_CHUNK, (req) => this.#serveChunk(req));
  }

  /** The blob from the local store, or fetched from peers (verified, then stored) first. */
  async fetch(id: string): Promise<Uint8Array> {
    parseBlobId(id);
    if (await this.#store.has(id)) return this.#store.get(id);
    let running = this.#fetching.get(id);
    if (!running) {
      running = this.#limited(() => this.#fetchFromPeers(id)).finally(() => this.#fetching.delete(id));
      this.#fetching.set(id, running);
    }
    return running;
  }

  /** Starts background fetches of the blobs that committed `models/published` events name. */
  onCommitted(receipts: readonly Receipt[]): void {
    for (const id of publishedBlobIds(receipts)) this.replicate(id);
  }

  /** Fetches `id` in the background unless stored, retrying with backoff while no peer serves it. */
  replicate(id: string): void {
    if (this.#stopped || this.#replicating.has(id)) return;
    this.#replicating.add(id);
    const attempt = async (n: number): Promise<void> => {
      if (this.#stopped) return;
      try {
        await this.fetch(id);
        this.#replicating.delete(id);
        this.#log.info({ id }, 'blob replicated');
      } catch (err) {
        if (this.#stopped) return;
        if (n + 1 >= this.#o.replicationAttempts) {
          this.#replicating.delete(id);
          this.#log.warn({ id, err: (err as Error).message }, 'blob replication gave up');
          return;
        }
        const delay = this.#o.replicationRetryMs * 2 ** n;
        this.#log.debug({ id, err: (err as Error).message, retryMs: delay }, 'blob replication failed');
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          void attempt(n + 1);
        }, delay);
        timer.unref();
        this.#timers.add(timer);
      }
    };
    void attempt(0);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const wake of this.#waiting.splice(0)) wake();
  }

  // ---- serving ----

  async #serveStat(req: Uint8Array): Promise<Uint8Array> {
    const { id } = decode(BlobStatRequestSchema, req);
    const stat = await this.#store.stat(id);
    if (!stat || stat.chunks > MAX_P2P_CHUNKS || stat.chunkBytes > MAX_P2P_CHUNK_BYTES) {
      return encode(BlobStatResponseSchema, {
        found: false,
        size: 0n,
        chunkBytes: 0,
        chunkHashes: new Uint8Array(0),
      });
    }
    const hashes = new Uint8Array(32 * stat.chunks);
    stat.chunkHashes.forEach((h, i) => {
      hashes.set(Buffer.from(h, 'hex'), 32 * i);
    });
    return encode(BlobStatResponseSchema, {
      found: true,
      size: BigInt(stat.size),
      chunkBytes: stat.chunkBytes,
      chunkHashes: hashes,
    });
  }

  async #serveChunk(req: Uint8Array): Promise<Uint8Array> {
    const { id, index } = decode(BlobChunkRequestSchema, req);
    return this.#store.getChunk(id, index);
  }

  // ---- fetching ----

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#active >= this.#o.maxConcurrentFetches) {
      if (this.#stopped) throw new Error('blob sync stopped');
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  async #fetchFromPeers(id: string): Promise<Uint8Array> {
    if (this.#stopped) throw new BlobUnavailableError(id, 'the node is stopping');
    if (await this.#store.has(id)) return this.#store.get(id);
    const peers = this.#p2p.peers().map((p) => p.id);
    if (peers.length === 0) throw new BlobUnavailableError(id, 'not stored here and no peer is connected');
    const groups = await this.#manifests(id, peers);
    if (groups.length === 0) {
      throw new BlobUnavailableError(id, `not stored here and none of ${peers.length} peer(s) has it`);
    }
    const reasons: string[] = [];
    for (const g of groups) {
      try {
        await this.#download(id, g.manifest, g.peers);
        this.#log.debug({ id, size: g.manifest.size, peers: g.peers.length }, 'blob fetched from peers');
        return await this.#store.get(id);
      } catch (err) {
        if (!(err instanceof BlobUnavailableError || err instanceof BlobCorruptError)) throw err;
        reasons.push(err.message);
      }
    }
    throw new BlobUnavailableError(id, `fetch from peers failed: ${reasons.join('; ')}`);
  }

  /** Asks every peer for its manifest of `id`; peers grouped by identical manifest, largest group first. */
  async #manifests(id: string, peers: string[]): Promise<{ manifest: Manifest; peers: string[] }[]> {
    const groups = new Map<string, { manifest: Manifest; peers: string[] }>();
    const request = encode(BlobStatRequestSchema, { id });
    await Promise.all(
      peers.map(async (peer) => {
        let res: Infer<typeof BlobStatResponseSchema>;
        try {
          await this.#pace(peer);
          const raw = await this.#p2p.request(peer, PROTOCOL_BLOB_STAT, request, { timeoutMs: 3_000 });
          res = decode(BlobStatResponseSchema, raw);
        } catch (err) {
          this.#log.debug({ id, peer, err: (err as Error).message }, 'blob stat failed');
          return;
        }
        if (!res.found) return;
        const m = this.#checkManifest(res);
        if (typeof m === 'string') {
          if (m !== 'too large') this.#p2p.penalize(peer, `blob ${id}: malformed manifest: ${m}`);
          return;
        }
        const key = `${m.size}/${m.chunkBytes}/${bytesToHex(sha256(res.chunkHashes))}`;
        const g = groups.get(key) ?? { manifest: m, peers: [] };
        g.peers.push(peer);
        groups.set(key, g);
      }),
    );
    return [...groups.values()].sort((a, b) => b.peers.length - a.peers.length);
  }

  #checkManifest(res: { size: bigint; chunkBytes: number; chunkHashes: Uint8Array }): Manifest | string {
    if (res.size > BigInt(this.#store.maxBlobBytes)) return 'too large';
    const size = Number(res.size);
    if (res.chunkBytes < 1 || res.chunkBytes > MAX_P2P_CHUNK_BYTES) return `chunk size ${res.chunkBytes}`;
    const n = Math.ceil(size / res.chunkBytes);
    if (size === 0) return 'empty blob';
    if (res.chunkHashes.length !== 32 * n)
      return `${res.chunkHashes.length / 32} chunk hashes for ${n} chunks`;
    const chunkHashes: string[] = [];
    for (let i = 0; i < n; i++)
      chunkHashes.push(bytesToHex(res.chunkHashes.subarray(32 * i, 32 * i + 32)).slice(2));
    return { size, chunkBytes: res.chunkBytes, chunkHashes };
  }

  /** Downloads the chunks from `peers` (round robin), checking each against the manifest, then stores. */
  async #download(id: string, m: Manifest, peers: string[]): Promise<void> {
    const upload = this.#store.receive(id, m.size, { chunkBytes: m.chunkBytes, chunkHashes: m.chunkHashes });
    const pending = Array.from({ length: upload.chunks }, (_, i) => i);
    const live = [...peers];
    const failures = new Map<string, number>();
    let turn = 0;
    const drop = (peer: string): void => {
      const i = live.indexOf(peer);
      if (i >= 0) live.splice(i, 1);
    };
    const worker = async (): Promise<void> => {
      while (!this.#stopped && pending.length > 0 && live.length > 0) {
        const index = pending.shift()!;
        const peer = live[turn++ % live.length]!;
        try {
          await this.#pace(peer);
          const bytes = await this.#p2p.request(
            peer,
            PROTOCOL_BLOB_CHUNK,
            encode(BlobChunkRequestSchema, { id, index }),
            { timeoutMs: this.#o.requestTimeoutMs },
          );
          upload.addChunk(index, bytes);
          failures.set(peer, 0);
        } catch (err) {
          pending.push(index);
          if (err instanceof BlobCorruptError || err instanceof BlobArgumentError) {
            // Bytes that do not match the hash the peer itself announced: provably bad.
            this.#p2p.penalize(peer, `blob ${id} chunk ${index}: ${err.message}`);
            this.#log.warn({ id, peer, index }, 'peer served a corrupt blob chunk');
            drop(peer);
            continue;
          }
          const n = (failures.get(peer) ?? 0) + 1;
          failures.set(peer, n);
          this.#log.debug({ id, peer, index, err: (err as Error).message }, 'blob chunk request failed');
          if (n >= this.#o.maxPeerFailures) drop(peer);
          else await sleep(250 * 2 ** (n - 1));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.chunkConcurrency, upload.chunks) }, worker));
    const missing = upload.missing();
    if (missing.length > 0) {
      upload.abort();
      throw new BlobUnavailableError(
        id,
        `${missing.length} of ${upload.chunks} chunk(s) could not be fetched from ${peers.length} peer(s)`,
      );
    }
    try {
      await upload.finish();
    } catch (err) {
      upload.abort();
      if (err instanceof BlobCorruptError) {
        // Every chunk matched the manifest these peers announced, yet the blob is not the id.
        for (const peer of peers) this.#p2p.penalize(peer, `blob ${id}: manifest does not match the id`);
      }
      throw err;
    }
  }

  /** Spaces requests to one peer so they stay under its request rate limit. */
  async #pace(peer: string): Promise<void> {
    const interval = 1000 / this.#o.requestsPerSecondPerPeer;
    const now = Date.now();
    const at = Math.max(now, this.#nextSlot.get(peer) ?? 0);
    this.#nextSlot.set(peer, at + interval);
    if (this.#nextSlot.size > 1_000) {
      for (const [p, slot] of this.#nextSlot) if (slot < now) this.#nextSlot.delete(p);
    }
    if (at > now) await sleep(at - now);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
