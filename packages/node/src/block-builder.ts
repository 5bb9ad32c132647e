// Building a block on top of the current head from the mempool: the one place both consensus
// engines (single validator and BFT) turn pending transactions into a block.

import {
  type Block,
  BlockExecution,
  type BlockResult,
  ERR,
  ExecutionFault,
  type Header,
  headerHash,
  type LastCommit,
  lastCommitHash,
  readValidatorSet,
  TxRejected,
  validatorSetHash,
} from '@aivm/chain';
import type { Address } from '@aivm/crypto';
import type { Logger } from 'pino';
import type { ChainStore } from './chain-store.ts';
import type { Mempool } from './mempool.ts';

export type BuiltBlock = { block: Block; hash: Uint8Array; result: BlockResult };

/** The parent's commit as the next block carries it (empty for block 1). */
export async function lastCommitOf(store: ChainStore): Promise<LastCommit> {
  const parent = store.head;
  if (parent.height === 0n) return { round: 0, signatures: [] };
  const commit = await store.getCommit(parent.height);
  if (!commit) throw new Error(`no commit stored for the head block ${parent.height}`);
  return { round: commit.round, signatures: commit.signatures };
}

export async function buildBlock(
  store: ChainStore,
  mempool: Mempool,
  opts: { proposer: Address; nowMs: number; maxTxs: number; logger: Logger },
): Promise<BuiltBlock> {
  const parent = store.head;
  const now = BigInt(opts.nowMs);
  const timeMs = now > parent.timeMs ? now : parent.timeMs + 1n;
  const lastCommit = await lastCommitOf(store);
  const info = {
    chainId: store.chain.chainId,
    height: parent.height + 1n,
    timeMs,
    proposer: opts.proposer,
    parentHash: headerHash(parent),
    lastCommit: { round: lastCommit.round, signers: lastCommit.signatures.map((s) => s.validator) },
  };
  const exec = await BlockExecution.begin(store.state, info, store.chain);
  // Senders with a transaction left for a later block: their later nonces wait too, so each
  // sender's transactions go in nonce order or not at all (a later one would fail with a gap).
  const deferred = new Set<string>();
  for (const tx of mempool.selectForBlock()) {
    if (exec.txs.length >= opts.maxTxs) break;
    const sender = tx.from.toLowerCase();
    if (deferred.has(sender)) continue;
    try {
      await exec.applyTx(tx.raw);
    } catch (err) {
      if (err instanceof ExecutionFault) {
        // This machine could not execute it (nothing of it stayed): never a reason to stop
        // building. Dropped here; another proposer may include it, and this node then refuses
        // to vote for that block unless the fault is gone.
        const followers = mempool.drop(tx.hash, { reason: err.message });
        opts.logger.error({ tx: tx.hash, followers, err }, 'execution fault: dropped pending transaction');
        continue;
      }
      if (!(err instanceof TxRejected)) throw err;
      // Too big for the room left in this block: it may fit the next one.
      if (err.code === ERR.GAS_LIMIT && tx.gasLimit > exec.gasRemaining) {
        deferred.add(sender);
        continue;
      }
      const followers = mempool.drop(tx.hash, { code: err.code, reason: err.message });
      opts.logger.info(
        { tx: tx.hash, code: err.code, reason: err.message, followers },
        'dropped pending transaction',
      );
    }
  }
  const result = await exec.finish();
  const header: Header = {
    chainId: info.chainId,
    height: info.height,
    timeMs,
    parentHash: headerHash(parent),
    stateRoot: result.stateRoot,
    txRoot: result.txRoot,
    resultsRoot: result.resultsRoot,
    validatorSetHash: validatorSetHash(await readValidatorSet(store.state, 'current')),
    lastCommitHash: lastCommitHash({ lastCommit }),
    gasUsed: result.gasUsed,
    proposer: opts.proposer,
  };
  const block: Block = { header, txs: exec.txs, lastCommit };
  return { block, hash: headerHash(header), result };
}
