// Transaction gossip in batches: one gossip message per few milliseconds carries every transaction
// this node accepted from its clients meanwhile. At a thousand transactions a second, one message
// per transaction would exceed the per-peer message rate that protects nodes from flooding.

import { decode, encode, t } from '@aivm/codec';
import type { P2P, Verdict } from '@aivm/p2p';

/** Largest transaction the chain accepts in a block (BlockSchema's txs element bound). */
const MAX_TX_BYTES = 64 * 1024;
export const TxBatchSchema = t.array(t.bytes(MAX_TX_BYTES), 2_048);

/** What the mempool made of one gossiped transaction. */
export type TxOutcome = 'added' | 'known' | 'invalid';

export class TxGossip {
  readonly #p2p: P2P;
  readonly #admit: (raw: Uint8Array) => Promise<TxOutcome>;
  readonly #flushMs: number;
  readonly #maxBatchBytes: number;
  #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    p2p: P2P,
    admit: (raw: Uint8Array) => Promise<TxOutcome>,
    opts: { flushMs?: number; maxBatchBytes?: number } = {},
  ) {
    this.#p2p = p2p;
    this.#admit = admit;
    this.#flushMs = opts.flushMs ?? 20;
    // Under the p2p layer's 128 KiB limit for the txs topic, with room for the encoding.
    this.#maxBatchBytes = opts.maxBatchBytes ?? 96 * 1024;
    p2p.subscribe('txs', (data) => this.#receive(data));
  }

  /** Queues a transaction this node accepted for the next batch. */
  announce(raw: Uint8Array): void {
    if (this.#outboxBytes + raw.length > this.#maxBatchBytes) this.flush();
    this.#outbox.push(raw);
    this.#outboxBytes += raw.length;
    this.#timer ??= setTimeout(() => this.flush(), this.#flushMs);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#outbox.length === 0) return;
    const batch = encode(TxBatchSchema, this.#outbox);
    this.#outbox = [];
    this.#outboxBytes = 0;
    void this.#p2p.publish('txs', batch).catch(() => undefined);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#outbox = [];
  }

  /** A peer's batch: forwarded on only when it held something new and nothing invalid. */
  async #receive(data: Uint8Array): Promise<Verdict> {
    let txs: Uint8Array[];
    try {
      txs = decode(TxBatchSchema, data);
    } catch {
      return 'reject';
    }
    // All at once, in order: the mempool keeps submission order while the signature checks of the
    // whole batch run together on the worker instead of one round trip per transaction.
    const outcomes = await Promise.all(txs.map((raw) => this.#admit(raw)));
    // Relaying a transaction that can never be valid is the sender's fault, whatever else it sent.
    if (outcomes.includes('invalid')) return 'reject';
    return outcomes.includes('added') ? 'accept' : 'ignore';
  }
}
