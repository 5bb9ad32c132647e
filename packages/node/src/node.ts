// A running AIVM node: wires storage, mempool, consensus engine, RPC, logs and metrics once, here.

import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import {
  authParams,
  type Block,
  blockHash,
  decodeTx,
  defaultModules,
  ERR,
  estimateTxGas,
  type GenesisDoc,
  getBalance,
  getNonce,
  ModuleError,
  type Receipt,
  Registry,
  readParams,
  TxRejected,
  validatorAddress,
} from '@aivm/chain';
import { fromJson } from '@aivm/codec';
import { type Address, bytesToHex, ed25519PublicKey, equalBytes, type Hex, hexToBytes } from '@aivm/crypto';
import type {
  AccountInfo,
  BlockRecord,
  NodeApi,
  NodeEvents,
  NodeStatus,
  ProvenValue,
  TxDraft,
  TxRecord,
} from './api.ts';
import { ChainStore } from './chain-store.ts';
import { type ConsensusEngine, SingleValidatorEngine } from './engine.ts';
import type { Logger } from './logger.ts';
import { Mempool, type MempoolLimits } from './mempool.ts';
import { createMetrics, type NodeMetrics } from './metrics.ts';
import { startRpcServer } from './rpc/server.ts';
import { SignaturePool } from './sig-pool.ts';

export const NODE_VERSION = '0.1.0';

export type NodeOptions = {
  /** Data directory: the database lives in <home>/db. */
  home: string;
  genesis: GenesisDoc;
  /** ed25519 secret key of this node's validator; it must be in the genesis validator set. */
  validatorKey: Uint8Array;
  rpc: { host: string; port: number } | false;
  blockIntervalMs: number;
  emptyBlocks: boolean;
  maxTxsPerBlock?: number;
  mempool?: Partial<MempoolLimits>;
  logger: Logger;
};

export class AivmNode implements NodeApi {
  readonly registry: Registry;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly validator: Address;
  rpcUrl = '';
  wsUrl = '';
  readonly #events = new EventEmitter();
  #engine: ConsensusEngine | undefined;
  #rpc: { close(): Promise<void> } | undefined;
  readonly #signatures: SignaturePool;

  private constructor(
    store: ChainStore,
    registry: Registry,
    logger: Logger,
    validator: Address,
    opts: NodeOptions,
  ) {
    this.store = store;
    this.registry = registry;
    this.logger = logger;
    this.validator = validator;
    this.metrics = createMetrics();
    this.mempool = new Mempool(store.chain, store.state, opts.mempool);
    this.#signatures = new SignaturePool(store.chain);
    this.#events.setMaxListeners(0);
  }

  get chainId(): bigint {
    return this.store.chain.chainId;
  }

  static async start(opts: NodeOptions): Promise<AivmNode> {
    const registry = new Registry(defaultModules());
    const store = await ChainStore.open(join(opts.home, 'db'), opts.genesis, registry);
    const pub = ed25519PublicKey(opts.validatorKey);
    const genesisValidators = opts.genesis.validators.map((v) => hexToBytes(v.pubKey));
    if (!genesisValidators.some((g) => equalBytes(g, pub))) {
      await store.close();
      throw new Error("this node's validator key is not in the genesis validator set");
    }
    const node = new AivmNode(store, registry, opts.logger, validatorAddress(pub), opts);
    node.metrics.height.set(Number(store.head.height));
    node.#engine = new SingleValidatorEngine({
      store,
      mempool: node.mempool,
      validatorKey: opts.validatorKey,
      blockIntervalMs: opts.blockIntervalMs,
      emptyBlocks: opts.emptyBlocks,
      maxTxsPerBlock: opts.maxTxsPerBlock ?? 10_000,
      logger: opts.logger,
      onCommit: (block, hash, result) => node.#afterCommit(block, hash, result.receipts),
    });
    try {
      if (opts.rpc) {
        const rpc = await startRpcServer(node, {
          host: opts.rpc.host,
          port: opts.rpc.port,
          logger: opts.logger,
          metrics: node.metrics.registry,
        });
        node.#rpc = rpc;
        node.rpcUrl = rpc.url;
        node.wsUrl = rpc.wsUrl;
      }
      await node.#engine.start();
    } catch (err) {
      await node.close();
      throw err;
    }
    opts.logger.info(
      {
        chainId: node.chainId.toString(),
        height: store.head.height.toString(),
        rpc: node.rpcUrl,
        validator: node.validator,
      },
      'node started',
    );
    return node;
  }

  async #afterCommit(block: Block, hash: Hex, receipts: Receipt[]): Promise<void> {
    const m = this.metrics;
    const height = block.header.height;
    m.height.set(Number(height));
    m.blocks.inc();
    m.txs.inc(block.txs.length);
    const hashes = receipts.map((r) => bytesToHex(r.txHash));
    await this.mempool.onCommit(hashes);
    m.mempoolTxs.set(this.mempool.size);
    m.mempoolBytes.set(this.mempool.bytes);
    this.logger.debug({ height: height.toString(), txs: block.txs.length }, 'block committed');
    const record: BlockRecord = { hash, block, receipts };
    this.#events.emit('block', record);
    if (this.#events.listenerCount('txResult') || this.#events.listenerCount('moduleEvent')) {
      receipts.forEach((receipt, index) => {
        const tx = decodeTx(block.txs[index]!, (t) => this.registry.message(t)?.schema);
        this.#events.emit('txResult', { tx, blockHash: hash, height, index, receipt } satisfies TxRecord);
        for (const e of receipt.events) {
          const attributes = Object.fromEntries(e.attributes.map((a) => [a.key, a.value]));
          this.#events.emit('moduleEvent', {
            module: e.module,
            type: e.type,
            attributes,
            height,
            txHash: tx.hash,
          });
        }
      });
    }
  }

  status(): NodeStatus {
    const head = this.store.head;
    return {
      chainId: this.chainId,
      genesisHash: this.store.genesisHash,
      height: head.height,
      headHash: this.store.headHash,
      stateRoot: bytesToHex(head.stateRoot),
      timeMs: head.timeMs,
      mempool: { count: this.mempool.size, bytes: this.mempool.bytes },
      validator: this.validator,
      version: NODE_VERSION,
    };
  }

  async getBlock(ref: { height?: bigint; hash?: Hex }): Promise<BlockRecord | undefined> {
    let height = ref.height ?? this.store.head.height;
    if (ref.hash !== undefined) {
      const h = await this.store.heightOf(ref.hash);
      if (h === undefined) return undefined;
      height = h;
    }
    const block = await this.store.getBlock(height);
    if (!block) return undefined;
    return { hash: blockHash(block), block, receipts: await this.store.getReceipts(height) };
  }

  async getTx(hash: Hex): Promise<TxRecord | undefined> {
    const loc = await this.store.txLocation(hash);
    if (!loc) return undefined;
    const [block, receipt] = await Promise.all([
      this.store.getBlock(loc.height),
      this.store.getReceipt(loc.height, loc.index),
    ]);
    if (!block || !receipt) return undefined;
    const tx = decodeTx(block.txs[loc.index]!, (t) => this.registry.message(t)?.schema);
    return { tx, blockHash: blockHash(block), height: loc.height, index: loc.index, receipt };
  }

  async getAccount(address: Address): Promise<AccountInfo> {
    const state = this.store.state;
    return {
      address,
      nonce: await getNonce(state, address),
      pendingNonce: await this.mempool.pendingNonce(address),
      balanceWei: await getBalance(state, address),
    };
  }

  async getProof(key: Uint8Array, height?: bigint): Promise<ProvenValue> {
    const at = height ?? this.store.head.height;
    const header = await this.store.getHeader(at);
    if (!header) throw new ModuleError(`no block at height ${at}`, ERR.NOT_FOUND);
    return { height: at, proof: await this.store.state.prove(key, header.stateRoot) };
  }

  async sendRawTx(raw: Uint8Array): Promise<Hex> {
    try {
      const hash = await this.mempool.add(raw, this.#signatures.verify(raw));
      this.metrics.mempoolTxs.set(this.mempool.size);
      this.metrics.mempoolBytes.set(this.mempool.bytes);
      return hash;
    } catch (err) {
      if (err instanceof TxRejected) this.metrics.rejectedTxs.inc({ code: String(err.code) });
      throw err;
    }
  }

  async estimateGas(draft: TxDraft): Promise<bigint> {
    const def = this.registry.message(draft.msgType);
    if (!def) throw new TxRejected(ERR.UNKNOWN_MESSAGE, `unknown message type: ${draft.msgType}`);
    const msg = fromJson(def.schema, draft.msg) as Record<string, unknown>;
    const state = this.store.state;
    const params = await readParams(state, 'auth', authParams);
    const head = this.store.head;
    return estimateTxGas(
      state,
      { chainId: this.chainId, height: head.height + 1n, timeMs: head.timeMs + 1n, proposer: this.validator },
      this.store.chain,
      {
        chainId: this.chainId,
        from: draft.from,
        nonce: await this.mempool.pendingNonce(draft.from),
        gasLimit: params.maxTxGas,
        gasPrice: draft.gasPrice ?? params.minGasPriceWei,
        msgType: draft.msgType,
        msg,
      },
      params.maxTxGas,
    );
  }

  async query(path: string, params: unknown): Promise<unknown> {
    const def = this.registry.query(path);
    if (!def) throw new ModuleError(`unknown query path: ${path}`, ERR.NOT_FOUND);
    return def.handler(this.store.state, fromJson(def.params, params ?? {}));
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.#events.on(event, listener);
  }

  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.#events.off(event, listener);
  }

  /** For tests and tools: produce a block now (single-validator engine only). */
  async produceBlock(): Promise<Block> {
    if (!(this.#engine instanceof SingleValidatorEngine)) throw new Error('no single-validator engine');
    return this.#engine.produceBlock();
  }

  async close(): Promise<void> {
    await this.#engine?.stop();
    await this.#rpc?.close();
    await this.#signatures.close();
    await this.store.close();
    this.logger.info('node stopped');
  }
}
