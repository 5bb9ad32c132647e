// Thin wrapper over classic-level (LevelDB) with Uint8Array keys and values. Every write is one atomic, fsynced batch.

import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';

export type Bytes = Uint8Array;

export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

export interface KVReader {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
}

/** A reader that can also list the pairs under a key prefix, in key order (StateTree.scan). */
export interface KVScanner extends KVReader {
  scan(prefix: Uint8Array): AsyncIterable<[Uint8Array, Uint8Array]>;
}

export type IterateOptions = { gte?: Uint8Array; lt?: Uint8Array; reverse?: boolean; limit?: number };

export class Database implements KVReader {
  readonly #level: ClassicLevel<Uint8Array, Uint8Array>;

  private constructor(level: ClassicLevel<Uint8Array, Uint8Array>) {
    this.#level = level;
  }

  /** Opens (creating if needed) the LevelDB database in directory `path`. */
  static async open(path: string): Promise<Database> {
    await mkdir(path, { recursive: true });
    const level = new ClassicLevel<Uint8Array, Uint8Array>(path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
      // Blocks write a few MB of state per block; a larger memtable keeps LevelDB from compacting every block.
      writeBufferSize: 32 * 1024 * 1024,
      cacheSize: 64 * 1024 * 1024,
    });
    try {
      await level.open();
    } catch (err) {
      // classic-level says only "Database failed to open"; the reason (often another process
      // holding the LOCK) is in the cause.
      const cause = (err as Error & { cause?: Error }).cause?.message;
      const locked = cause && /lock/i.test(cause);
      throw new Error(
        locked
          ? `database ${path} is in use by another process (${cause})`
          : `cannot open database ${path}: ${cause ?? (err as Error).message}`,
      );
    }
    return new Database(level);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const value = await this.#level.get(key);
    return value === undefined ? undefined : plain(value);
  }

  async getMany(keys: Uint8Array[]): Promise<(Uint8Array | undefined)[]> {
    const values = await this.#level.getMany(keys);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== undefined) values[i] = plain(v);
    }
    return values;
  }

  /** Writes all ops as one atomic batch and waits for fsync, so a crash after it resolves loses none of them. */
  async write(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.#level.batch(ops, { sync: true });
  }

  async *iterate(opts: IterateOptions = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    const options: { gte?: Uint8Array; lt?: Uint8Array; reverse?: boolean; limit?: number } = {};
    if (opts.gte !== undefined) options.gte = opts.gte;
    if (opts.lt !== undefined) options.lt = opts.lt;
    if (opts.reverse !== undefined) options.reverse = opts.reverse;
    if (opts.limit !== undefined) options.limit = opts.limit;
    const it = this.#level.iterator(options);
    try {
      for await (const [k, v] of it) yield [plain(k), plain(v)];
    } finally {
      await it.close();
    }
  }

  close(): Promise<void> {
    return this.#level.close();
  }
}

/** classic-level hands out Buffers; callers get plain Uint8Arrays (same memory, no copy) so comparisons behave. */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
