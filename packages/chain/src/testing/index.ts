// Test kit for module and executor tests: a real state tree on a temporary LevelDB, funded
// accounts, and helpers to sign transactions and run blocks, so a module test is a few lines.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Address,
  bytesToHex,
  ed25519PublicKey,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
} from '@aivm/crypto';
import { Database, StateTree } from '@aivm/state';
import { validatorAddress } from '../accounts.ts';
import { type Block, type Header, headerHash } from '../block.ts';
import {
  BlockExecution,
  type BlockResult,
  type ChainContext,
  executeBlock,
  lastCommitHash,
} from '../execute.ts';
import { type GenesisDoc, initGenesis } from '../genesis.ts';
import { Registry } from '../module.ts';
import { WEI_PER_CGPT } from '../modules/bank/module.ts';
import { defaultModules } from '../modules/index.ts';
import { signTx } from '../tx.ts';

export type TestAccount = { privateKey: Uint8Array; address: Address };

export type TestChain = {
  db: Database;
  state: StateTree;
  chain: ChainContext;
  head: Header;
  accounts: TestAccount[];
  proposer: Address;
  dir: string;
  close(): Promise<void>;
};

export const TEST_CHAIN_ID = 99n;
export const GAS_PRICE = 1_000_000_000n;
export const TEST_MNEMONIC = 'test test test test test test test test test test test junk';

export async function createTestChain(
  opts: { accounts?: number; fundCgpt?: bigint; app?: Record<string, unknown> } = {},
): Promise<TestChain> {
  const dir = await mkdtemp(join(tmpdir(), 'aivm-chain-'));
  const db = await Database.open(join(dir, 'db'));
  const state = await StateTree.open(db);
  const registry = new Registry(defaultModules());
  // Deterministic keys, so two test chains built alike replay each other's blocks.
  const accounts = mnemonicToPrivateKeys(TEST_MNEMONIC, 0, opts.accounts ?? 3).map((privateKey) => ({
    privateKey,
    address: privateKeyToAddress(privateKey),
  }));
  const validator = { publicKey: ed25519PublicKey(new Uint8Array(32).fill(9)) };
  const fund = (opts.fundCgpt ?? 1_000n) * WEI_PER_CGPT;
  const doc: GenesisDoc = {
    chainId: Number(TEST_CHAIN_ID),
    genesisTimeMs: 1_700_000_000_000,
    validators: [{ pubKey: bytesToHex(validator.publicKey), power: 1 }],
    app: {
      bank: { balances: accounts.map((a) => ({ address: a.address, amount: fund.toString() })) },
      ...opts.app,
    },
  };
  const { header, result } = await initGenesis(state, doc, registry);
  await db.write(result.staged.ops);
  state.applyStaged(result.staged);
  return {
    db,
    state,
    chain: { chainId: TEST_CHAIN_ID, registry },
    head: header,
    accounts,
    proposer: validatorAddress(validator.publicKey),
    dir,
    async close() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function signMsg(
  tc: Pick<TestChain, 'chain'>,
  from: TestAccount,
  nonce: bigint,
  msgType: string,
  msg: Record<string, unknown>,
  opts: { gasLimit?: bigint; gasPrice?: bigint; chainId?: bigint } = {},
): Uint8Array {
  const def = tc.chain.registry.message(msgType);
  if (!def) throw new Error(`unknown message ${msgType}`);
  return signTx(
    {
      chainId: opts.chainId ?? tc.chain.chainId,
      from: from.address,
      nonce,
      gasLimit: opts.gasLimit ?? 200_000n,
      gasPrice: opts.gasPrice ?? GAS_PRICE,
      msgType,
      msg,
    },
    from.privateKey,
    def.schema,
  );
}

/** Builds a block from `txs` on top of the head (skipping none), persists it and advances the head. */
export async function buildBlock(
  tc: TestChain,
  txs: Uint8Array[],
): Promise<{ block: Block; result: BlockResult }> {
  const parent = tc.head;
  const info = {
    chainId: tc.chain.chainId,
    height: parent.height + 1n,
    timeMs: parent.timeMs + 1_000n,
    proposer: tc.proposer,
  };
  const exec = await BlockExecution.begin(tc.state, info, tc.chain);
  for (const raw of txs) await exec.applyTx(raw);
  const result = await exec.finish();
  const block: Block = {
    header: {
      ...info,
      parentHash: headerHash(parent),
      stateRoot: result.stateRoot,
      txRoot: result.txRoot,
      resultsRoot: result.resultsRoot,
      validatorSetHash: parent.validatorSetHash,
      lastCommitHash: lastCommitHash({ lastCommit: [] }),
      gasUsed: result.gasUsed,
    },
    txs: exec.txs,
    lastCommit: [],
  };
  await commit(tc, block, result);
  return { block, result };
}

/** Re-executes a block made elsewhere (verification path), then persists it. */
export async function importBlock(tc: TestChain, block: Block): Promise<BlockResult> {
  const result = await executeBlock(tc.state, block, { chain: tc.chain, parent: tc.head });
  await commit(tc, block, result);
  return result;
}

async function commit(tc: TestChain, block: Block, result: BlockResult): Promise<void> {
  await tc.db.write(result.staged.ops);
  tc.state.applyStaged(result.staged);
  tc.head = block.header;
}
