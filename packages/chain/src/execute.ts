// Block execution: one pure function of (state, block, chain context). Block production, block
// verification, replay and tests all run transactions through the same BlockExecution.

import { encode } from '@aivm/codec';
import { type Address, bytesToHex, equalBytes, type Hex, hexToBytes, keccak256 } from '@aivm/crypto';
import type { KVReader, StagedState, StateChange } from '@aivm/state';
import { FEE_COLLECTOR } from './accounts.ts';
import {
  type Block,
  EVENT_LIMITS,
  encodeConsensusReceipt,
  type Header,
  headerHash,
  LastCommitSchema,
  MAX_ERROR_TEXT_BYTES,
  type Receipt,
  validatorSetHash,
} from './block.ts';
import { ERR, ExecutionFault, failureCode, InvalidBlock, OK, TxRejected } from './errors.ts';
import { effectiveGasPrice, txUpfrontCost } from './eth-tx.ts';
import { GAS, GasMeter } from './gas.ts';
import { merkleRoot } from './merkle.ts';
import {
  type BlockInfo,
  type ChainEvent,
  defineEvents,
  ExecContext,
  type Module,
  type Registry,
  readParams,
  utf8Length,
} from './module.ts';
import { authParams } from './modules/auth/params.ts';
import { getNonce, setNonce } from './modules/auth/store.ts';
import { getBalance, transfer } from './modules/bank/store.ts';
import { StateOverlay } from './overlay.ts';
import { decodeTx, encodeTx, type SignedTx, type UnsignedTx, verifyTxSignature } from './tx.ts';
import { readValidatorSet, rotateValidatorSets, type SetMember, verifyCommit } from './validators.ts';

/** Committed state as the executor needs it: reads, and staging the next version. */
export interface StateBackend extends KVReader {
  stage(changes: StateChange[], version: bigint): Promise<StagedState>;
}

export type ChainContext = {
  chainId: bigint;
  registry: Registry;
  /**
   * tx hash -> recovered sender, filled by whoever verified the signature first (the mempool).
   * Recovery is a pure function of the tx bytes, so a cache hit cannot change any result.
   */
  senderCache?: Map<Hex, Address>;
};

export type BlockResult = {
  stateRoot: Uint8Array;
  txRoot: Uint8Array;
  resultsRoot: Uint8Array;
  gasUsed: bigint;
  receipts: Receipt[];
  /** Canonical encodings of the receipts' consensus parts (the leaves of resultsRoot). */
  encodedReceipts: Uint8Array[];
  /** Events of begin/end-block hooks (tx events are in their receipts), chain/hookFailed included. */
  blockEvents: ChainEvent[];
  /** Block hooks that failed with a typed error (undone; recorded as chain/hookFailed events). */
  hookFailures: BlockExecution['hookFailures'];
  /** The validator set of the next height, canonical order, with proposer priorities. */
  validators: SetMember[];
  staged: StagedState;
};

const UNMETERED = 2n ** 63n;

/** Events of the executor itself, among a block's hook events. */
export const chainEvents = defineEvents('chain', { hookFailed: ['module', 'hook', 'code'] });

function unmetered(state: StateOverlay, info: BlockInfo): ExecContext {
  return new ExecContext(state, info, new GasMeter(UNMETERED));
}

export function lastCommitHash(block: Pick<Block, 'lastCommit'>): Uint8Array {
  return keccak256(encode(LastCommitSchema, block.lastCommit));
}

/** Decodes and checks everything about a transaction that needs no state. */
export function checkTxStateless(raw: Uint8Array, chain: ChainContext): { tx: SignedTx; sender: Address } {
  const cache = chain.senderCache;
  const tx = decodeTx(raw, (type) => chain.registry.message(type)?.schema, cache && ((h) => cache.get(h)));
  if (tx.chainId !== chain.chainId) {
    throw new TxRejected(
      ERR.WRONG_CHAIN,
      `transaction is for chain ${tx.chainId}, this is chain ${chain.chainId}`,
    );
  }
  const intrinsic = intrinsicGas(raw);
  if (tx.gasLimit < intrinsic) {
    throw new TxRejected(ERR.GAS_LIMIT, `gas limit ${tx.gasLimit} is below the intrinsic cost ${intrinsic}`);
  }
  let sender = chain.senderCache?.get(tx.hash);
  if (!sender) {
    sender = verifyTxSignature(tx, chain.registry.message(tx.msgType)!.schema);
    chain.senderCache?.set(tx.hash, sender);
  }
  return { tx, sender };
}

export function intrinsicGas(raw: Uint8Array): bigint {
  return GAS.TX_BASE + GAS.TX_BYTE * BigInt(raw.length);
}

/** An open block: transactions are applied one by one, then finish() seals the roots. */
export class BlockExecution {
  readonly info: BlockInfo;
  readonly receipts: Receipt[] = [];
  readonly txs: Uint8Array[] = [];
  /** Hooks that failed with a typed error in this block (the node logs them loudly). */
  readonly hookFailures: { module: string; hook: string; code: number; error: string }[] = [];
  gasUsed = 0n;
  readonly #state: StateOverlay;
  readonly #backend: StateBackend;
  readonly #chain: ChainContext;
  readonly #blockEvents: ChainEvent[] = [];
  #params!: Awaited<ReturnType<typeof readParams<typeof authParams.schema>>>;

  private constructor(backend: StateBackend, info: BlockInfo, chain: ChainContext) {
    this.#backend = backend;
    this.#state = new StateOverlay(backend);
    this.info = info;
    this.#chain = chain;
  }

  static async begin(backend: StateBackend, info: BlockInfo, chain: ChainContext): Promise<BlockExecution> {
    const exec = new BlockExecution(backend, info, chain);
    exec.#params = await readParams(exec.#state, 'auth', authParams);
    for (const m of chain.registry.modules) await exec.#runHook(m, 'beginBlock');
    return exec;
  }

  /**
   * Runs one module's block hook. A typed failure (failureCode) undoes the hook's writes and is
   * recorded as a chain/hookFailed block event with its code, and the block goes on; anything
   * else is an ExecutionFault.
   */
  async #runHook(m: Module, hook: 'beginBlock' | 'endBlock'): Promise<void> {
    const run = m[hook];
    if (!run) return;
    const ctx = unmetered(this.#state, this.info);
    const snap = ctx.snapshot();
    try {
      await run(ctx);
      this.#blockEvents.push(...ctx.events);
    } catch (err) {
      const code = failureCode(err);
      if (code === undefined) {
        this.#state.revertTo(snap.journal);
        throw new ExecutionFault(`${hook} of ${m.name}`, err);
      }
      ctx.revertTo(snap);
      this.hookFailures.push({ module: m.name, hook, code, error: errorText(err) });
      this.#blockEvents.push({
        module: chainEvents.module,
        type: 'hookFailed',
        attributes: { module: m.name, hook, code: code.toString() },
      } satisfies ChainEvent & { type: keyof typeof chainEvents.types });
    }
  }

  /**
   * Gas the block has left: its limit less the gas its transactions used. A block is as full as
   * the gas it used (and was paid for), never as the gas its senders reserved: counting limits let
   * 20 transfers with a 10,000,000 limit fill a 200,000,000 block while paying for 0.18% of it
   * (issue 13). As in Ethereum, a transaction goes in only when its whole limit fits in what is
   * left, so the block's gas used can never pass its limit.
   */
  get gasRemaining(): bigint {
    return this.#params.blockGasLimit - this.gasUsed;
  }

  /**
   * Applies one transaction. Throws TxRejected, leaving state untouched, when the transaction
   * cannot be included at all; otherwise returns its receipt (which may record a failure).
   */
  async applyTx(raw: Uint8Array): Promise<Receipt> {
    const { tx, sender } = checkTxStateless(raw, this.#chain);
    const params = this.#params;
    if (tx.gasLimit > params.maxTxGas) {
      throw new TxRejected(
        ERR.GAS_LIMIT,
        `gas limit ${tx.gasLimit} exceeds the per-tx maximum ${params.maxTxGas}`,
      );
    }
    if (tx.gasLimit > this.gasRemaining) {
      throw new TxRejected(ERR.GAS_LIMIT, `gas limit ${tx.gasLimit} does not fit in the block`);
    }
    if (tx.gasPrice < params.minGasPriceWei) {
      throw new TxRejected(
        ERR.UNDERPRICED,
        `gas price ${tx.gasPrice} is below the minimum ${params.minGasPriceWei}`,
      );
    }
    const nonce = await getNonce(this.#state, sender);
    if (tx.nonce < nonce)
      throw new TxRejected(ERR.NONCE_TOO_LOW, `nonce ${tx.nonce} already used (next is ${nonce})`);
    if (tx.nonce > nonce)
      throw new TxRejected(ERR.NONCE_GAP, `nonce ${tx.nonce} leaves a gap (next is ${nonce})`);
    const maxFee = tx.gasLimit * tx.gasPrice;
    const balance = await getBalance(this.#state, sender);
    const upfront = txUpfrontCost(tx);
    if (balance < upfront) {
      throw new TxRejected(
        ERR.INSUFFICIENT_FUNDS,
        upfront === maxFee
          ? `balance ${balance} wei cannot pay the maximum fee ${maxFee} wei`
          : `balance ${balance} wei cannot pay the maximum fee ${maxFee} wei and the value ${upfront - maxFee} wei`,
      );
    }
    // What each unit of gas used costs: gasPrice, or for an EIP-1559 transfer the floor plus its
    // tip capped by its maxFeePerGas (eth-tx.ts); the rest of maxFee is refunded.
    const price = effectiveGasPrice(tx, params.minGasPriceWei);

    // Ante: take the maximum fee and the nonce; these stay even if the message fails.
    const beforeAnte = this.#state.snapshot();
    const ante = unmetered(this.#state, this.info);
    await transfer(ante, sender, FEE_COLLECTOR, maxFee);
    setNonce(ante, sender, nonce + 1n);

    const snapshot = this.#state.snapshot();
    const meter = new GasMeter(tx.gasLimit);
    const ctx = new ExecContext(this.#state, this.info, meter, EVENT_LIMITS.perContext);
    let code = OK;
    let error = '';
    try {
      meter.consume(intrinsicGas(raw));
      await this.#chain.registry.message(tx.msgType)!.handler(ctx, tx.msg as never, sender);
    } catch (err) {
      const failed = failureCode(err);
      if (failed === undefined) {
        // Not a typed failure: its outcome may differ between machines. Nothing of the
        // transaction stays (not even its fee and nonce) and the caller decides what to do.
        this.#state.revertTo(beforeAnte);
        throw new ExecutionFault(`tx ${tx.hash} (${tx.msgType})`, err);
      }
      this.#state.revertTo(snapshot);
      code = failed;
      error = errorText(err);
    }
    const feeWei = meter.used * price;
    await transfer(ante, FEE_COLLECTOR, sender, maxFee - feeWei);

    const receipt: Receipt = {
      txHash: hexToBytes(tx.hash),
      code,
      gasUsed: meter.used,
      feeWei,
      events: code === OK ? ctx.events.map(toEventRecord) : [],
      error,
    };
    this.txs.push(raw);
    this.receipts.push(receipt);
    this.gasUsed += meter.used;
    return receipt;
  }

  async finish(): Promise<BlockResult> {
    for (const m of this.#chain.registry.modules) await this.#runHook(m, 'endBlock');
    let validators: SetMember[];
    let staged: StagedState;
    try {
      validators = await rotateValidatorSets(unmetered(this.#state, this.info));
      staged = await this.#backend.stage(this.#state.changes(), this.info.height);
    } catch (err) {
      throw new ExecutionFault('sealing the block', err);
    }
    const encodedReceipts = this.receipts.map(encodeConsensusReceipt);
    return {
      stateRoot: staged.root,
      txRoot: merkleRoot(this.txs),
      resultsRoot: merkleRoot(encodedReceipts),
      gasUsed: this.gasUsed,
      receipts: this.receipts,
      encodedReceipts,
      blockEvents: this.#blockEvents,
      hookFailures: this.hookFailures,
      validators,
      staged,
    };
  }
}

/** The text of a failure for people: at most MAX_ERROR_TEXT_BYTES of UTF-8, cut at a character. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (utf8Length(text) <= MAX_ERROR_TEXT_BYTES) return text;
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    bytes += utf8Length(ch);
    if (bytes > MAX_ERROR_TEXT_BYTES - 3) break;
    end += ch.length;
  }
  return `${text.slice(0, end)}...`;
}

function toEventRecord(e: ChainEvent): Receipt['events'][number] {
  return {
    module: e.module,
    type: e.type,
    attributes: Object.entries(e.attributes).map(([key, value]) => ({ key, value })),
  };
}

/** Verifies a block against its parent and re-executes it. Throws InvalidBlock on any mismatch. */
export async function executeBlock(
  state: StateBackend,
  block: Block,
  ctx: { chain: ChainContext; parent: Header },
): Promise<BlockResult> {
  const h = block.header;
  const { parent, chain } = ctx;
  if (h.chainId !== chain.chainId) throw new InvalidBlock(`block is for chain ${h.chainId}`);
  if (h.height !== parent.height + 1n)
    throw new InvalidBlock(`height ${h.height} does not follow ${parent.height}`);
  if (!equalBytes(h.parentHash, headerHash(parent))) throw new InvalidBlock('parent hash does not match');
  if (h.timeMs <= parent.timeMs) throw new InvalidBlock('block time must be after the parent time');
  if (!equalBytes(h.lastCommitHash, lastCommitHash(block)))
    throw new InvalidBlock('last commit hash does not match');
  const current = await readValidatorSet(state, 'current');
  if (!equalBytes(h.validatorSetHash, validatorSetHash(current)))
    throw new InvalidBlock('validator set hash does not match the set in the parent state');
  const { round, signatures } = block.lastCommit;
  if (h.height === 1n) {
    if (round !== 0 || signatures.length !== 0)
      throw new InvalidBlock('block 1 must carry an empty last commit');
  } else {
    const previous = await readValidatorSet(state, 'previous');
    verifyCommit(previous, h.chainId, h.height - 1n, round, h.parentHash, signatures);
  }

  const exec = await BlockExecution.begin(
    state,
    {
      chainId: h.chainId,
      height: h.height,
      timeMs: h.timeMs,
      proposer: h.proposer,
      parentHash: h.parentHash,
      lastCommit: { round, signers: signatures.map((s) => s.validator) },
    },
    chain,
  );
  for (const [i, raw] of block.txs.entries()) {
    try {
      await exec.applyTx(raw);
    } catch (err) {
      // An ExecutionFault goes on to the caller: this node cannot judge the block, which is not
      // the same as the block being invalid.
      if (err instanceof TxRejected) throw new InvalidBlock(`tx ${i} is not admissible: ${err.message}`);
      throw err;
    }
  }
  const result = await exec.finish();
  const check = (name: string, a: Uint8Array, b: Uint8Array) => {
    if (!equalBytes(a, b))
      throw new InvalidBlock(`${name} mismatch: header ${bytesToHex(a)}, computed ${bytesToHex(b)}`);
  };
  check('state root', h.stateRoot, result.stateRoot);
  check('tx root', h.txRoot, result.txRoot);
  check('results root', h.resultsRoot, result.resultsRoot);
  if (h.gasUsed !== result.gasUsed)
    throw new InvalidBlock(`gas used mismatch: ${h.gasUsed} vs ${result.gasUsed}`);
  return result;
}

/**
 * Gas a transaction would use on top of `state` (nothing is written). The signature is not checked
 * and the fee is not charged, so a sender can price a transaction before signing it.
 */
export async function estimateTxGas(
  state: KVReader,
  info: BlockInfo,
  chain: ChainContext,
  tx: UnsignedTx,
  gasCap: bigint,
): Promise<bigint> {
  const def = chain.registry.message(tx.msgType);
  if (!def) throw new TxRejected(ERR.UNKNOWN_MESSAGE, `unknown message type: ${tx.msgType}`);
  const raw = encodeTx(tx, new Uint8Array(65), def.schema);
  const meter = new GasMeter(gasCap);
  meter.consume(intrinsicGas(raw));
  const ctx = new ExecContext(new StateOverlay(state), info, meter, EVENT_LIMITS.perContext);
  await def.handler(ctx, tx.msg as never, tx.from);
  return meter.used;
}
