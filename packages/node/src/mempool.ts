// Pending transactions: admission checks against committed state plus the sender's pending
// queue, replacement by fee, capacity limits with eviction of the cheapest, and fee-ordered
// selection for the next block that keeps each sender's nonces in order.

import {
  authParams,
  type ChainContext,
  checkTxStateless,
  ERR,
  getBalance,
  getNonce,
  readParams,
  type SignedTx,
  TxRejected,
  txUpfrontCost,
} from '@aivm/chain';
import type { Address, Hex } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';

export type MempoolLimits = {
  maxTxs: number;
  maxBytes: number;
  maxPerSender: number;
  /** A replacement must raise the gas price by at least this many percent. */
  replacePercent: number;
  /** How many dropped transaction hashes keep their reason (the oldest are forgotten first). */
  maxDroppedKept: number;
};

export const DEFAULT_MEMPOOL_LIMITS: MempoolLimits = {
  maxTxs: 50_000,
  maxBytes: 64 * 1024 * 1024,
  maxPerSender: 1_000,
  replacePercent: 10,
  maxDroppedKept: 10_000,
};

type Entry = { tx: SignedTx; sender: Address; maxFee: bigint };

/**
 * Why an admitted transaction left the mempool without being committed. `code` is the chain's
 * stable code (ERR) where one applies; a fault of this machine's execution has none.
 */
export type DropReason = { code?: number; reason: string };

/** The reason given to the transactions that followed a dropped one of the same sender. */
export const FOLLOWER_DROP_REASON = 'an earlier nonce of the sender was dropped';

export class Mempool {
  readonly limits: MempoolLimits;
  readonly #chain: ChainContext;
  readonly #state: KVReader;
  /** sender (lower case) -> pending txs sorted by nonce, contiguous from the committed nonce. */
  readonly #bySender = new Map<string, Entry[]>();
  readonly #byHash = new Map<Hex, Entry>();
  /** Recently dropped hashes and why, oldest first (bounded by limits.maxDroppedKept). */
  readonly #dropped = new Map<Hex, DropReason>();
  #bytes = 0;
  /** Fee parameters of the committed state; reset on every commit. */
  #params: Awaited<ReturnType<typeof readParams<typeof authParams.schema>>> | undefined;
  #lock: Promise<unknown> = Promise.resolve();

  constructor(chain: ChainContext, state: KVReader, limits: Partial<MempoolLimits> = {}) {
    this.#chain = chain;
    this.#state = state;
    this.limits = { ...DEFAULT_MEMPOOL_LIMITS, ...limits };
  }

  get size(): number {
    return this.#byHash.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  has(hash: Hex): boolean {
    return this.#byHash.has(hash);
  }

  get(hash: Hex): SignedTx | undefined {
    return this.#byHash.get(hash)?.tx;
  }

  /** Why `hash` was dropped, while it is among the last `limits.maxDroppedKept` dropped ones. */
  droppedReason(hash: Hex): DropReason | undefined {
    return this.#dropped.get(hash);
  }

  #remember(hash: Hex, why: DropReason): void {
    this.#dropped.delete(hash);
    this.#dropped.set(hash, why);
    while (this.#dropped.size > Math.max(0, this.limits.maxDroppedKept)) {
      this.#dropped.delete(this.#dropped.keys().next().value!);
    }
  }

  /** Next nonce for `sender` counting its pending transactions. */
  async pendingNonce(sender: Address): Promise<bigint> {
    const queue = this.#bySender.get(sender.toLowerCase());
    if (queue?.length) return queue[queue.length - 1]!.tx.nonce + 1n;
    return getNonce(this.#state, sender);
  }

  /**
   * Admits a transaction or throws TxRejected. Calls are serialized in call order so each sees the
   * last; `precheck` (e.g. a signature check on a worker thread) may run ahead in parallel and is
   * awaited in turn.
   */
  add(raw: Uint8Array, precheck?: Promise<unknown>): Promise<Hex> {
    // Marks an early rejection as handled: it is reported when this call's turn comes.
    precheck?.catch(() => undefined);
    const run = this.#lock.then(async () => {
      await precheck;
      return this.#add(raw);
    });
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #add(raw: Uint8Array): Promise<Hex> {
    const { tx, sender } = checkTxStateless(raw, this.#chain);
    if (this.#byHash.has(tx.hash))
      throw new TxRejected(ERR.ALREADY_KNOWN, `transaction ${tx.hash} is already pending`);
    this.#params ??= await readParams(this.#state, 'auth', authParams);
    const params = this.#params;
    if (tx.gasLimit > params.maxTxGas) {
      throw new TxRejected(
        ERR.GAS_LIMIT,
        `gas limit ${tx.gasLimit} exceeds the per-tx maximum ${params.maxTxGas}`,
      );
    }
    if (tx.gasPrice < params.minGasPriceWei) {
      throw new TxRejected(
        ERR.UNDERPRICED,
        `gas price ${tx.gasPrice} is below the minimum ${params.minGasPriceWei}`,
      );
    }
    const key = sender.toLowerCase();
    const queue = this.#bySender.get(key) ?? [];
    const committedNonce = await getNonce(this.#state, sender);
    const next = committedNonce + BigInt(queue.length);
    if (tx.nonce < committedNonce) {
      throw new TxRejected(ERR.NONCE_TOO_LOW, `nonce ${tx.nonce} already used (next is ${committedNonce})`);
    }
    if (tx.nonce > next)
      throw new TxRejected(ERR.NONCE_GAP, `nonce ${tx.nonce} leaves a gap (next is ${next})`);

    // An Ethereum transfer's value must be covered too (txUpfrontCost), as the executor checks.
    const entry: Entry = { tx, sender, maxFee: txUpfrontCost(tx) };
    const slot = Number(tx.nonce - committedNonce);
    const replaced = queue[slot];
    if (replaced) {
      const minPrice =
        replaced.tx.gasPrice + (replaced.tx.gasPrice * BigInt(this.limits.replacePercent)) / 100n;
      if (tx.gasPrice < minPrice) {
        throw new TxRejected(
          ERR.UNDERPRICED,
          `replacing nonce ${tx.nonce} needs a gas price of at least ${minPrice}`,
        );
      }
    } else if (queue.length >= this.limits.maxPerSender) {
      throw new TxRejected(
        ERR.MEMPOOL_FULL,
        `sender has ${queue.length} pending transactions (limit ${this.limits.maxPerSender})`,
      );
    }
    let fees = entry.maxFee;
    queue.forEach((e, i) => {
      if (i !== slot) fees += e.maxFee;
    });
    const balance = await getBalance(this.#state, sender);
    if (balance < fees) {
      throw new TxRejected(
        ERR.INSUFFICIENT_FUNDS,
        `balance ${balance} wei cannot pay pending fees of ${fees} wei`,
      );
    }
    if (!replaced) this.#makeRoom(entry);

    if (replaced) {
      this.#byHash.delete(replaced.tx.hash);
      this.#bytes -= replaced.tx.raw.length;
      this.#chain.senderCache?.delete(replaced.tx.hash);
      this.#remember(replaced.tx.hash, {
        code: ERR.UNDERPRICED,
        reason: `replaced by ${tx.hash} with a higher gas price`,
      });
    }
    queue[slot] = entry;
    this.#bySender.set(key, queue);
    this.#byHash.set(tx.hash, entry);
    this.#bytes += raw.length;
    // Pending again (sent anew after it was dropped): no longer dropped.
    this.#dropped.delete(tx.hash);
    return tx.hash;
  }

  /** Evicts the cheapest last-in-queue transactions (never opening a nonce gap) or refuses. */
  #makeRoom(incoming: Entry): void {
    const { maxTxs, maxBytes } = this.limits;
    while (this.#byHash.size + 1 > maxTxs || this.#bytes + incoming.tx.raw.length > maxBytes) {
      let cheapest: { key: string; entry: Entry } | undefined;
      for (const [key, queue] of this.#bySender) {
        const last = queue[queue.length - 1];
        if (last && (!cheapest || last.tx.gasPrice < cheapest.entry.tx.gasPrice))
          cheapest = { key, entry: last };
      }
      if (!cheapest || cheapest.entry.tx.gasPrice >= incoming.tx.gasPrice) {
        throw new TxRejected(
          ERR.MEMPOOL_FULL,
          'mempool is full and this transaction does not pay more than the cheapest',
        );
      }
      const evicted = this.#removeLast(cheapest.key);
      this.#remember(evicted.tx.hash, {
        code: ERR.MEMPOOL_FULL,
        reason: `evicted from the full mempool by ${incoming.tx.hash}, which pays a higher gas price`,
      });
    }
  }

  #removeLast(key: string): Entry {
    const queue = this.#bySender.get(key)!;
    const entry = queue.pop()!;
    this.#byHash.delete(entry.tx.hash);
    this.#bytes -= entry.tx.raw.length;
    this.#chain.senderCache?.delete(entry.tx.hash);
    if (queue.length === 0) this.#bySender.delete(key);
    return entry;
  }

  /**
   * Transactions for the next block, highest gas price first, each sender's in nonce order.
   * A k-way merge over the sender queues: O(n log s) with a binary heap of queue heads.
   */
  *selectForBlock(): Generator<SignedTx> {
    const heads: { queue: Entry[]; i: number }[] = [];
    const heap = new PriceHeap<{ queue: Entry[]; i: number }>((x) => x.queue[x.i]!.tx.gasPrice);
    for (const queue of this.#bySender.values()) if (queue.length) heads.push({ queue, i: 0 });
    for (const h of heads) heap.push(h);
    while (heap.size) {
      const top = heap.pop()!;
      yield top.queue[top.i]!.tx;
      top.i++;
      if (top.i < top.queue.length) heap.push(top);
    }
  }

  /**
   * Drops a transaction a block builder found inadmissible, and its sender's later ones (which
   * could never be included without it). Each keeps its reason (droppedReason); the later ones get
   * FOLLOWER_DROP_REASON. Returns the hashes of those later ones, in nonce order.
   */
  drop(hash: Hex, why: DropReason): Hex[] {
    const entry = this.#byHash.get(hash);
    if (!entry) return [];
    const key = entry.sender.toLowerCase();
    const queue = this.#bySender.get(key)!;
    const at = queue.indexOf(entry);
    const followers: Hex[] = [];
    while (queue.length > at) {
      const removed = this.#removeLast(key);
      if (removed !== entry) followers.unshift(removed.tx.hash);
    }
    this.#remember(hash, why);
    for (const h of followers)
      this.#remember(h, { code: ERR.NONCE_GAP, reason: `${FOLLOWER_DROP_REASON} (${hash})` });
    return followers;
  }

  /** After a block commits: forget included txs and those whose nonce is now used. */
  async onCommit(included: Iterable<Hex>): Promise<void> {
    this.#params = undefined;
    const touched = new Set<string>();
    const committed = new Set<Hex>();
    for (const hash of included) {
      committed.add(hash);
      // Committed after all (e.g. by another proposer): its status comes from the tx index.
      this.#dropped.delete(hash);
      const entry = this.#byHash.get(hash);
      if (entry) touched.add(entry.sender.toLowerCase());
    }
    for (const key of touched) {
      const queue = this.#bySender.get(key)!;
      const nonce = await getNonce(this.#state, queue[0]!.sender);
      let drop = 0;
      while (drop < queue.length && queue[drop]!.tx.nonce < nonce) drop++;
      for (const e of queue.splice(0, drop)) {
        this.#byHash.delete(e.tx.hash);
        this.#bytes -= e.tx.raw.length;
        this.#chain.senderCache?.delete(e.tx.hash);
        if (!committed.has(e.tx.hash)) {
          this.#remember(e.tx.hash, {
            code: ERR.NONCE_TOO_LOW,
            reason: `nonce ${e.tx.nonce} was used by another committed transaction`,
          });
        }
      }
      if (queue.length === 0) this.#bySender.delete(key);
    }
  }
}

/** Max-heap by a bigint priority. */
class PriceHeap<T> {
  readonly #items: T[] = [];
  readonly #price: (item: T) => bigint;

  constructor(price: (item: T) => bigint) {
    this.#price = price;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#price(a[parent]!) >= this.#price(a[i]!)) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && this.#price(a[l]!) > this.#price(a[best]!)) best = l;
        if (r < a.length && this.#price(a[r]!) > this.#price(a[best]!)) best = r;
        if (best === i) break;
        [a[best], a[i]] = [a[i]!, a[best]!];
        i = best;
      }
    }
    return top;
  }
}
