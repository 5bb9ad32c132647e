// A running AIVM node: wires storage, mempool, consensus engine, RPC, logs and metrics once, here.

import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { BlobStore } from '@aivm/blobs';
import {
  authParams,
  type Block,
  type BlockResult,
  blockHash,
  ChainError,
  checkInvariants,
  decodeTx,
  defaultModules,
  ERR,
  estimateTxGas,
  type GenesisDoc,
  getBalance,
  getNonce,
  getValidatorByConsensusAddress,
  headerHash,
  type Module,
  ModuleError,
  queryParamsFromJson,
  Registry,
  readParams,
  readValidatorSet,
  type SignedVote,
  signTx,
  TxRejected,
  validatorAddress,
} from '@aivm/chain';
import { fromJson } from '@aivm/codec';
import type { TimeoutConfig } from '@aivm/consensus';
import { type Address, bytesToHex, ed25519PublicKey, type Hex, privateKeyToAddress } from '@aivm/crypto';
import { P2P } from '@aivm/p2p';
import type { KVScanner } from '@aivm/state';
import type {
  AccountInfo,
  BlobInfo,
  BlobUploadState,
  BlockRecord,
  NodeApi,
  NodeEvents,
  NodeStatus,
  ProvenValue,
  TxDraft,
  TxRecord,
  TxStatus,
  UploadRequester,
} from './api.ts';
import { Attestations, type AttestationView } from './attestations.ts';
import { BftEngine } from './bft.ts';
import { BlobCollector, type BlobGcOptions } from './blob-gc.ts';
import { BlobSync } from './blob-sync.ts';
import { blobUploadAuthorizer, type UploadModel } from './blob-upload-auth.ts';
import { type BlobLimits, BlobUnavailableError, BlobUploads, resolveBlobLimits } from './blob-uploads.ts';
import { ChainStore } from './chain-store.ts';
import { type ConsensusEngine, SingleValidatorEngine } from './engine.ts';
import type { Logger } from './logger.ts';
import { Mempool, type MempoolLimits } from './mempool.ts';
import { createMetrics, type NodeMetrics } from './metrics.ts';
import { resolveRpcClientLimits } from './rpc/client-limits.ts';
import { type RpcServerOptions, startRpcServer } from './rpc/server.ts';
import { SignaturePool } from './sig-pool.ts';
import { TxGossip, type TxOutcome } from './tx-gossip.ts';

export const NODE_VERSION = '0.1.0';

/** Consensus timeouts for a network of validators (ms; each later round waits delta longer). */
export const NETWORK_TIMEOUTS: TimeoutConfig = {
  // Long enough for a full block to be built, carried and executed on a busy machine: a proposal
  // that arrives after the timeout costs a whole round.
  propose: { baseMs: 3_000, deltaMs: 500 },
  prevote: { baseMs: 1_000, deltaMs: 500 },
  precommit: { baseMs: 1_000, deltaMs: 500 },
};

/**
 * Most transactions in a block of a validator network: every validator executes a proposal before
 * it votes, so the block size bounds the time a height takes.
 */
export const NETWORK_MAX_TXS_PER_BLOCK = 2_000;

/**
 * Known, stale or temporarily unaffordable transactions are normal under gossip; one that can never
 * be valid (bad encoding or signature, wrong chain) is the fault of the peer that relayed it.
 */
const HOPELESS_TX_CODES: ReadonlySet<number> = new Set([
  ERR.TX_DECODE,
  ERR.BAD_SIGNATURE,
  ERR.WRONG_CHAIN,
  ERR.UNKNOWN_MESSAGE,
  ERR.TX_TOO_LARGE,
]);

export type NetworkOptions = {
  p2p: { listen: string[]; peers?: string[]; seeds?: string[]; privateKey: Uint8Array };
  timeouts?: TimeoutConfig;
  /** Pause after each commit before the next height (lets transactions gather). */
  commitDelayMs?: number;
  /** Test mode: double-sign every vote (to exercise evidence and slashing). Never in production. */
  equivocate?: boolean;
};

export type NodeOptions = {
  /**
   * Data directory: the database lives in <home>/db, the consensus WAL in <home>/consensus.wal,
   * artifact blobs in <home>/blobs.
   */
  home: string;
  genesis: GenesisDoc;
  /**
   * ed25519 secret key of this node's validator. Without `network` it must be the only member of
   * the validator set (single-validator devnet); with `network` it may be null (a full node).
   */
  validatorKey: Uint8Array | null;
  /** Join a validator network over p2p with BFT consensus; absent = single-validator devnet. */
  network?: NetworkOptions;
  /** Account key that pays for submitting double-sign evidence this node sees (optional). */
  reporterKey?: Uint8Array;
  /**
   * secp256k1 attestation key of this node's validator (docs/evm.md): while its address is in the
   * attestation set the node signs AivmResult and AivmValidatorSet after each committed block.
   * Absent: the node still collects and serves other validators' attestations.
   */
  attestationKey?: Uint8Array;
  /** Attestations (messages and signatures) are kept this many blocks (default 100000). */
  attestationRetentionBlocks?: number;
  /**
   * JSON-RPC server with its limits (defaults in RPC_DEFAULTS); `clientLimits` caps what one client
   * (remote IP) may hold: WebSocket connections, subscriptions and blob uploads (defaults in
   * DEFAULT_RPC_CLIENT_LIMITS); `corsOrigin` lets pages of that origin ('*': any) call it;
   * `staticDir`: a directory served on GET / and below (AIVM Studio's build).
   */
  rpc:
    | ({ host: string; port: number } & Pick<
        RpcServerOptions,
        | 'maxWsConnections'
        | 'maxSubscriptionsPerConnection'
        | 'maxWsBufferedBytes'
        | 'maxNotificationBacklog'
        | 'clientLimits'
        | 'corsOrigin'
        | 'staticDir'
      >)
    | false;
  blockIntervalMs: number;
  emptyBlocks: boolean;
  maxTxsPerBlock?: number;
  mempool?: Partial<MempoolLimits>;
  /** Artifact blob store in <home>/blobs: size limit (default 64 MiB) and RPC upload limits. */
  blobs?: Partial<BlobLimits>;
  /** Garbage collection of blobs no open model needs (blob-gc.ts). */
  blobGc?: Partial<BlobGcOptions>;
  logger: Logger;
  /**
   * The chain's modules (default: defaultModules()). Every node of a chain must run the same ones;
   * tests hand in modules with injected faults.
   */
  modules?: Module[];
  /** Run every module's invariants on committed state after each block whose height is a multiple of this (0 or absent: never). */
  checkInvariantsEvery?: number;
  /** Called once the node stopped itself because an invariant broke (the CLI exits non-zero). */
  onHalt?: (message: string) => void;
};

/**
 * The registry's invariants over committed state at `height` when it is a multiple of `every`
 * (never when `every` is 0); returns the broken ones as "module/name: what is wrong".
 */
export async function checkInvariantsAt(
  state: KVScanner,
  registry: Registry,
  height: bigint,
  every: number,
): Promise<string[]> {
  if (!(every > 0) || height % BigInt(every) !== 0n) return [];
  return checkInvariants(state, registry);
}

export class AivmNode implements NodeApi {
  readonly registry: Registry;
  readonly store: ChainStore;
  readonly mempool: Mempool;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  readonly validator: Address | null;
  readonly p2p: P2P | undefined;
  /** Content-addressed artifact blobs (model ids); every read is verified against the id. */
  readonly blobs: BlobStore;
  rpcUrl = '';
  wsUrl = '';
  readonly #events = new EventEmitter();
  #engine: ConsensusEngine | undefined;
  #rpc: { close(): Promise<void> } | undefined;
  readonly #signatures: SignaturePool;
  readonly #reporterKey: Uint8Array | undefined;
  #evidenceQueue: Promise<void> = Promise.resolve();
  #txGossip: TxGossip | undefined;
  #attestations!: Attestations;
  readonly #uploads: BlobUploads;
  #blobSync: BlobSync | undefined;
  #blobGc!: BlobCollector;
  readonly #checkInvariantsEvery: number;
  readonly #onHalt: ((message: string) => void) | undefined;
  /** Why the node stopped itself (a broken invariant), once it has. */
  halted: string | undefined;

  private constructor(
    store: ChainStore,
    registry: Registry,
    logger: Logger,
    validator: Address | null,
    p2p: P2P | undefined,
    blobs: BlobStore,
    opts: NodeOptions,
  ) {
    this.p2p = p2p;
    this.blobs = blobs;
    this.#uploads = new BlobUploads(blobs, opts.blobs, {
      maxUploadsPerClient: resolveRpcClientLimits(opts.rpc ? opts.rpc.clientLimits : {}).maxUploadsPerClient,
      authorize: blobUploadAuthorizer(store.chain.chainId, (id) => this.#uploadModel(id)),
      onTakeover: (dropped, by) => logger.info({ dropped, by }, 'blob upload took the slot of a stalled one'),
    });
    this.#reporterKey = opts.reporterKey;
    this.store = store;
    this.registry = registry;
    this.logger = logger;
    this.validator = validator;
    this.metrics = createMetrics();
    this.mempool = new Mempool(store.chain, store.state, opts.mempool);
    this.#signatures = new SignaturePool(store.chain);
    this.#events.setMaxListeners(0);
    this.#checkInvariantsEvery = opts.checkInvariantsEvery ?? 0;
    this.#onHalt = opts.onHalt;
  }

  get chainId(): bigint {
    return this.store.chain.chainId;
  }

  static async start(opts: NodeOptions): Promise<AivmNode> {
    const { maxBlobBytes } = resolveBlobLimits(opts.blobs);
    const registry = new Registry(opts.modules ?? defaultModules());
    const store = await ChainStore.open(join(opts.home, 'db'), opts.genesis, registry);
    const validator = opts.validatorKey ? validatorAddress(ed25519PublicKey(opts.validatorKey)) : null;
    const set = await readValidatorSet(store.state, 'current');
    const inSet = validator !== null && set.some((v) => v.address.toLowerCase() === validator.toLowerCase());
    if (!opts.network && (!inSet || set.length !== 1)) {
      await store.close();
      throw new Error(
        inSet
          ? `the validator set has ${set.length} members: run with a network (p2p) configuration`
          : "this node's validator key is not the chain's only validator",
      );
    }
    let p2p: P2P | undefined;
    if (opts.network) {
      try {
        p2p = await P2P.create({
          network: `${store.chain.chainId}-${store.genesisHash.slice(2, 14)}`,
          listen: opts.network.p2p.listen,
          peers: opts.network.p2p.peers,
          seeds: opts.network.p2p.seeds,
          privateKey: opts.network.p2p.privateKey,
          logger: opts.logger,
        });
      } catch (err) {
        await store.close();
        throw err;
      }
    }
    let blobs: BlobStore;
    try {
      blobs = await BlobStore.open(join(opts.home, 'blobs'), { maxBlobBytes });
    } catch (err) {
      await p2p?.stop();
      await store.close();
      throw err;
    }
    const node = new AivmNode(store, registry, opts.logger, validator, p2p, blobs, opts);
    if (p2p) node.#blobSync = new BlobSync({ store: blobs, p2p, logger: opts.logger });
    node.#blobGc = new BlobCollector(blobs, store.state, opts.logger, opts.blobGc);
    node.#attestations = new Attestations({
      db: store.db,
      chainId: store.chain.chainId,
      state: store.state,
      logger: opts.logger,
      p2p,
      key: opts.attestationKey,
      retentionBlocks: opts.attestationRetentionBlocks,
    });
    node.metrics.height.set(Number(store.head.height));
    const onCommit = (block: Block, hash: Hex, result: BlockResult) => node.#afterCommit(block, hash, result);
    if (p2p && opts.network) {
      node.#engine = new BftEngine({
        store,
        mempool: node.mempool,
        p2p,
        walPath: join(opts.home, 'consensus.wal'),
        validatorKey: opts.validatorKey,
        timeouts: opts.network.timeouts ?? NETWORK_TIMEOUTS,
        commitDelayMs: opts.network.commitDelayMs ?? opts.blockIntervalMs,
        maxTxsPerBlock: opts.maxTxsPerBlock ?? NETWORK_MAX_TXS_PER_BLOCK,
        logger: opts.logger,
        onCommit,
        onEvidence: (a, b) => node.#reportEvidence(a, b),
        equivocate: opts.network.equivocate,
      });
      node.#txGossip = new TxGossip(p2p, (raw) => node.#admitGossipTx(raw));
    } else {
      node.#engine = new SingleValidatorEngine({
        store,
        mempool: node.mempool,
        validatorKey: opts.validatorKey!,
        blockIntervalMs: opts.blockIntervalMs,
        emptyBlocks: opts.emptyBlocks,
        maxTxsPerBlock: opts.maxTxsPerBlock ?? 10_000,
        logger: opts.logger,
        onCommit,
      });
    }
    try {
      if (opts.rpc) {
        const rpc = await startRpcServer(node, {
          ...opts.rpc,
          logger: opts.logger,
          metrics: node.metrics.registry,
        });
        node.#rpc = rpc;
        node.rpcUrl = rpc.url;
        node.wsUrl = rpc.wsUrl;
      }
      if (p2p) await p2p.start();
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
        attestationKey: node.#attestations.address ?? null,
        p2p: p2p?.multiaddrs(),
      },
      'node started',
    );
    void node.#blobGc.sweep(store.head.height); // blobs of models that closed while it was down
    return node;
  }

  async #afterCommit(block: Block, hash: Hex, result: BlockResult): Promise<void> {
    const { receipts, blockEvents } = result;
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
    if (this.halted) return;
    const broken = await checkInvariantsAt(
      this.store.state,
      this.registry,
      height,
      this.#checkInvariantsEvery,
    );
    if (broken.length > 0) {
      this.#halt(height, broken);
      return;
    }
    for (const f of result.hookFailures)
      this.logger.error(
        { height: height.toString(), ...f },
        'a block hook failed with a typed error; its changes were undone and the chain goes on',
      );
    // Attestations of the requests this block finalized and the set it began (state is this block's).
    try {
      await this.#attestations.onCommit(height, result);
    } catch (err) {
      this.logger.error({ err, height: height.toString() }, 'attestations of a committed block failed');
    }
    this.#blobSync?.onCommitted(receipts); // background fetches of newly published artifacts
    this.#blobGc.onCommitted(height, receipts, result.blockEvents); // background deletes of blobs no model needs
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
    // Events of begin/end-block hooks (assignments after a missed deadline, finalized windows...).
    if (this.#events.listenerCount('moduleEvent'))
      for (const e of blockEvents)
        this.#events.emit('moduleEvent', {
          module: e.module,
          type: e.type,
          attributes: e.attributes,
          height,
          txHash: null,
        });
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

  async getTxStatus(hash: Hex): Promise<TxStatus> {
    // The mempool first: a block's transactions leave it only after the block is stored, so one
    // that is not pending here is found in the tx index if it was committed.
    if (this.mempool.has(hash)) return { status: 'pending' };
    const loc = await this.store.txLocation(hash);
    if (loc) return { status: 'committed', height: loc.height };
    const dropped = this.mempool.droppedReason(hash);
    if (dropped) return { status: 'dropped', ...dropped };
    return { status: 'unknown' };
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
      this.#txGossip?.announce(raw);
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
      {
        chainId: this.chainId,
        height: head.height + 1n,
        timeMs: head.timeMs + 1n,
        proposer: this.validator ?? this.store.head.proposer,
        parentHash: headerHash(this.store.head),
        lastCommit: { round: 0, signers: [] },
      },
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
    return def.handler(this.store.state, queryParamsFromJson(def, params) as never);
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.#events.on(event, listener);
  }

  off<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): void {
    this.#events.off(event, listener);
  }

  async blobUploadChunk(
    id: string,
    size: number,
    index: number,
    data: Uint8Array,
    from: UploadRequester,
  ): Promise<BlobUploadState> {
    return this.#uploads.addChunk(id, size, index, data, from);
  }

  /** The model a blob upload is for (the models/model query on committed state), if published. */
  async #uploadModel(id: string): Promise<UploadModel | undefined> {
    let m: { owner?: unknown; status?: unknown; artifactSize?: unknown };
    try {
      m = (await this.query('models/model', { id })) as typeof m;
    } catch (err) {
      if (err instanceof ChainError) return undefined; // no such model
      throw err;
    }
    return {
      owner: String(m.owner) as Address,
      status: String(m.status),
      artifactSize: Number(m.artifactSize),
    };
  }

  async getAttestations(requestId: bigint): Promise<AttestationView | undefined> {
    return this.#attestations.result(requestId);
  }

  async getValidatorSetAttestation(setId: bigint): Promise<AttestationView | undefined> {
    return this.#attestations.validatorSet(setId);
  }

  async blobStat(id: string): Promise<BlobInfo | undefined> {
    return this.#uploads.stat(id);
  }

  async blobChunk(id: string, index: number): Promise<Uint8Array> {
    return this.blobs.getChunk(id, index);
  }

  /** A blob's verified bytes: from the local store, or fetched from peers (and stored) first. */
  async fetchBlob(id: string): Promise<Uint8Array> {
    if (this.#blobSync) return this.#blobSync.fetch(id);
    if (await this.blobs.has(id)) return this.blobs.get(id);
    throw new BlobUnavailableError(id, 'not stored on this node, and without p2p it cannot be fetched');
  }

  /** For tests and tools: produce a block now (single-validator engine only). */
  async produceBlock(): Promise<Block> {
    if (!(this.#engine instanceof SingleValidatorEngine)) throw new Error('no single-validator engine');
    return this.#engine.produceBlock();
  }

  /** A transaction gossiped by a peer, into the mempool. */
  async #admitGossipTx(raw: Uint8Array): Promise<TxOutcome> {
    try {
      await this.mempool.add(raw, this.#signatures.verify(raw));
      return 'added';
    } catch (err) {
      if (!(err instanceof TxRejected)) return 'known';
      return HOPELESS_TX_CODES.has(err.code) ? 'invalid' : 'known';
    }
  }

  /**
   * Submits double-sign evidence as a slashing/submitEvidence transaction paid by the reporter key.
   * Submissions run one after another: the engine often reports a prevote and a precommit
   * equivocation back to back, and two concurrent submissions would read the same pending nonce
   * (the second is then refused by the mempool as an underpriced replacement and is lost).
   */
  #reportEvidence(a: SignedVote, b: SignedVote): void {
    const key = this.#reporterKey;
    if (!key) return;
    const from = privateKeyToAddress(key);
    this.#evidenceQueue = this.#evidenceQueue
      .then(async () => {
        // Already punished (by an earlier report of ours or anyone's): another would only fail.
        if ((await getValidatorByConsensusAddress(this.store.state, a.validator))?.tombstoned) return;
        const params = await readParams(this.store.state, 'auth', authParams);
        const def = this.registry.message('slashing/submitEvidence')!;
        const raw = signTx(
          {
            chainId: this.chainId,
            from,
            nonce: await this.mempool.pendingNonce(from),
            gasLimit: params.maxTxGas,
            gasPrice: params.minGasPriceWei,
            msgType: 'slashing/submitEvidence',
            msg: { a, b },
          },
          key,
          def.schema,
        );
        const hash = await this.sendRawTx(raw);
        this.logger.warn({ validator: a.validator, tx: hash }, 'submitted double-sign evidence');
      })
      .catch((err) => this.logger.error({ err }, 'could not submit evidence'));
  }

  /**
   * A broken invariant: the state is wrong and every later block would build on it. Log at fatal
   * level, stop the node (outside the commit callback that found it) and tell the owner.
   */
  #halt(height: bigint, broken: string[]): void {
    const message = `invariant broken at height ${height}, node halted:\n  ${broken.join('\n  ')}`;
    this.halted = message;
    this.logger.fatal({ height: height.toString(), broken }, 'invariant broken: halting the node');
    setImmediate(() => {
      this.close()
        .catch((err) => this.logger.error({ err }, 'error while halting'))
        .finally(() => this.#onHalt?.(message));
    });
  }

  async close(): Promise<void> {
    await this.#engine?.stop();
    this.#txGossip?.stop();
    await this.#attestations?.idle();
    this.#blobSync?.stop();
    this.#uploads.close();
    await this.#blobGc?.stop();
    await this.p2p?.stop();
    await this.#rpc?.close();
    await this.#signatures.close();
    await this.store.close();
    await this.blobs.close();
    this.logger.info('node stopped');
  }
}
