// Consensus engines decide which block comes next; block execution and storage stay the same
// whoever decides. The single-validator engine is the devnet's: one key, one vote, every block
// final as soon as it is written. The BFT engine of the network drops in behind the same interface.

import { type Block, type BlockResult, type Commit, commitSignBytes, validatorAddress } from '@aivm/chain';
import { ed25519PublicKey, ed25519Sign, type Hex } from '@aivm/crypto';
import type { Logger } from 'pino';
import { buildBlock } from './block-builder.ts';
import type { ChainStore } from './chain-store.ts';
import type { Mempool } from './mempool.ts';

export interface ConsensusEngine {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type SingleValidatorOptions = {
  store: ChainStore;
  mempool: Mempool;
  /** ed25519 secret key of the only validator (must match the genesis validator set). */
  validatorKey: Uint8Array;
  blockIntervalMs: number;
  /** When false, no block is made while the mempool is empty. */
  emptyBlocks: boolean;
  maxTxsPerBlock: number;
  logger: Logger;
  /** Called after each block is durably committed. */
  onCommit: (block: Block, hash: Hex, result: BlockResult) => Promise<void> | void;
  now?: () => number;
};

export class SingleValidatorEngine implements ConsensusEngine {
  readonly #o: SingleValidatorOptions;
  readonly #address;
  readonly #publicKey: Uint8Array;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #producing: Promise<unknown> = Promise.resolve();

  constructor(options: SingleValidatorOptions) {
    this.#o = options;
    this.#publicKey = ed25519PublicKey(options.validatorKey);
    this.#address = validatorAddress(this.#publicKey);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
      });
    }, delayMs);
  }

  async #tick(): Promise<void> {
    const started = Date.now();
    try {
      if (this.#o.emptyBlocks || this.#o.mempool.size > 0) await this.produceBlock();
    } catch (err) {
      this.#o.logger.error({ err }, 'block production failed');
    }
    this.#schedule(Math.max(0, this.#o.blockIntervalMs - (Date.now() - started)));
  }

  /** Builds, signs and commits one block on top of the current head (one at a time). */
  produceBlock(): Promise<Block> {
    const run = this.#producing.then(() => this.#produce());
    this.#producing = run.catch(() => undefined);
    return run;
  }

  async #produce(): Promise<Block> {
    const { store, mempool } = this.#o;
    const { block, hash, result } = await buildBlock(store, mempool, {
      proposer: this.#address,
      nowMs: (this.#o.now ?? Date.now)(),
      maxTxs: this.#o.maxTxsPerBlock,
      logger: this.#o.logger,
    });
    const { header } = block;
    const commit: Commit = {
      height: header.height,
      round: 0,
      blockHash: hash,
      signatures: [
        {
          validator: this.#address,
          signature: ed25519Sign(
            commitSignBytes(header.chainId, header.height, 0, hash),
            this.#o.validatorKey,
          ),
        },
      ],
    };
    await store.commitBlock(block, result, commit);
    await this.#o.onCommit(block, store.headHash, result);
    return block;
  }
}
