// Signature checks on worker threads. Requests arriving in the same tick are batched per worker,
// so a JSON-RPC batch of a hundred transactions costs a handful of messages, not a hundred.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type ChainContext, TxRejected } from '@aivm/chain';
import type { Address, Hex } from '@aivm/crypto';
import type { VerifyRequest, VerifyResponse, VerifyResult } from './sig-worker.ts';

type Pending = { raw: Uint8Array; resolve: (r: VerifyResult) => void };

export class SignaturePool {
  readonly #chain: ChainContext;
  readonly #workers: Worker[] = [];
  readonly #inflight = new Map<number, Pending[]>();
  #queue: Pending[] = [];
  #nextId = 0;
  #nextWorker = 0;
  #flushScheduled = false;
  #closed = false;

  constructor(chain: ChainContext, size = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.#chain = chain;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./sig-worker.ts', import.meta.url));
      worker.on('message', (res: VerifyResponse) => this.#onResult(res));
      worker.on('error', (err) => this.#failAll(err));
      worker.unref();
      this.#workers.push(worker);
    }
  }

  /** Decodes and verifies `raw`; on success the sender is cached for the mempool and the block builder. */
  async verify(raw: Uint8Array): Promise<{ hash: Hex; sender: Address }> {
    if (this.#closed) throw new Error('signature pool is closed');
    const result = await new Promise<VerifyResult>((resolve) => {
      this.#queue.push({ raw, resolve });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
    if (!result.ok) throw new TxRejected(result.code, result.message);
    this.#chain.senderCache?.set(result.hash, result.sender);
    return result;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    const per = Math.ceil(queue.length / this.#workers.length);
    for (let i = 0; i < queue.length; i += per) {
      const part = queue.slice(i, i + per);
      const id = this.#nextId++;
      this.#inflight.set(id, part);
      const worker = this.#workers[this.#nextWorker++ % this.#workers.length]!;
      worker.postMessage({
        id,
        chainId: this.#chain.chainId,
        txs: part.map((p) => p.raw),
      } satisfies VerifyRequest);
    }
  }

  #onResult(res: VerifyResponse): void {
    const part = this.#inflight.get(res.id);
    if (!part) return;
    this.#inflight.delete(res.id);
    for (const [i, p] of part.entries()) p.resolve(res.results[i]!);
  }

  #failAll(err: Error): void {
    for (const part of this.#inflight.values()) {
      for (const p of part)
        p.resolve({ ok: false, code: 1001, message: `verification failed: ${err.message}` });
    }
    this.#inflight.clear();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
