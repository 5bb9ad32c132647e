// Garbage collection of artifact blobs no model needs any more. A blob is kept while the model it
// is the artifact of is open (uploading or active), and for `retentionBlocks` after the model
// closed (deprecated or shown faulty: requests assigned before it closed may still need it); the
// blob of an expired model (never activated, its storage deposit forfeited) and a blob no model
// names at all go at once. What a node stores is then bounded by what open models' owners hold a
// storage deposit for (docs/security.md, attack 2). Runs in the background, never on the
// consensus path: at start, after a block that closed a model, and every `everyBlocks` blocks.

import type { BlobStore } from '@aivm/blobs';
import { getModel, type ModelRecord, modelsEvents, type Receipt } from '@aivm/chain';
import type { KVReader } from '@aivm/state';
import type { Logger } from './logger.ts';

export type BlobGcOptions = {
  /** Blocks a closed (deprecated, faulty) model's blob is kept after it closed; default 1,000. */
  retentionBlocks: number;
  /** Full sweep at least every this many blocks (retention ends); default 100. */
  everyBlocks: number;
};

export const DEFAULT_BLOB_GC: BlobGcOptions = { retentionBlocks: 1_000, everyBlocks: 100 };

/** Whether the blob of `record` (undefined: no model names it) is still needed at `height`. */
export function blobNeeded(
  record: ModelRecord | undefined,
  height: bigint,
  retentionBlocks: number,
): boolean {
  if (!record) return false;
  if (record.status === 'uploading' || record.status === 'active') return true;
  if (record.status === 'expired') return false;
  return height < record.closedAt + BigInt(retentionBlocks);
}

/** Model events (of receipts or end blocks) after which a blob may have become garbage. */
const CLOSING: readonly string[] = [
  'expired',
  'deprecated',
  'faulty',
] satisfies (keyof typeof modelsEvents.types)[];
const closes = (e: { module: string; type: string }) =>
  e.module === modelsEvents.module && CLOSING.includes(e.type);

export class BlobCollector {
  readonly #store: BlobStore;
  readonly #state: KVReader;
  readonly #log: Logger;
  readonly #opts: BlobGcOptions;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #lastSweep = -1n;
  #height = 0n;
  /** Blobs deleted and bytes freed since start. */
  readonly stats = { deleted: 0, freedBytes: 0 };

  constructor(store: BlobStore, state: KVReader, logger: Logger, opts: Partial<BlobGcOptions> = {}) {
    this.#store = store;
    this.#state = state;
    this.#log = logger;
    this.#opts = { ...DEFAULT_BLOB_GC, ...opts };
    for (const [k, v] of Object.entries(this.#opts))
      if (!Number.isSafeInteger(v) || v < (k === 'everyBlocks' ? 1 : 0))
        throw new RangeError(
          `blob GC option ${k} must be a ${k === 'everyBlocks' ? 'positive' : 'non-negative'} integer, got ${v}`,
        );
  }

  /** After each committed block: sweeps when a model closed in it, or every `everyBlocks`. */
  onCommitted(
    height: bigint,
    receipts: readonly Receipt[],
    blockEvents: readonly { module: string; type: string }[],
  ): void {
    this.#height = height;
    const closed = blockEvents.some(closes) || receipts.some((r) => r.code === 0 && r.events.some(closes));
    if (closed || height - this.#lastSweep >= BigInt(this.#opts.everyBlocks)) void this.sweep(height);
  }

  /** Deletes every stored blob not needed at `height`; one sweep at a time (a request during one runs after it). */
  sweep(height: bigint = this.#height): Promise<void> {
    this.#height = height > this.#height ? height : this.#height;
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#sweepOnce(this.#height);
        } while (this.#again && !this.#stopped);
      } catch (err) {
        this.#log.warn(
          { err: (err as Error).message },
          'blob garbage collection failed; retried at the next sweep',
        );
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Stops sweeping; resolves once a sweep in progress has ended (before the stores close). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #sweepOnce(height: bigint): Promise<void> {
    this.#lastSweep = height;
    for (const id of await this.#store.list()) {
      if (this.#stopped) return;
      const record = await getModel(this.#state, id);
      if (blobNeeded(record, height, this.#opts.retentionBlocks)) continue;
      const freed = await this.#store.delete(id);
      if (freed === 0) continue;
      this.stats.deleted++;
      this.stats.freedBytes += freed;
      this.#log.info(
        { blob: id, bytes: freed, model: record ? record.status : 'none', height: height.toString() },
        'deleted a blob no open model needs',
      );
    }
  }
}
