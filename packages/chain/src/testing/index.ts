// Test kit for module and executor tests: a real state tree on a temporary LevelDB, funded
// accounts, and helpers to sign transactions and run blocks, so a module test is a few lines.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { t } from '@aivm/codec';
import { proposerFor } from '@aivm/consensus/proposer';
import {
  type Address,
  bytesToHex,
  ed25519PublicKey,
  ed25519Sign,
  mnemonicToPrivateKeys,
  privateKeyToAddress,
} from '@aivm/crypto';
import { Database, StateTree } from '@aivm/state';
import { validatorAddress } from '../accounts.ts';
import {
  type Block,
  commitSignBytes,
  type Header,
  headerHash,
  type LastCommit,
  validatorSetHash,
} from '../block.ts';
import {
  BlockExecution,
  type BlockResult,
  type ChainContext,
  executeBlock,
  lastCommitHash,
} from '../execute.ts';
import { type GenesisDoc, initGenesis } from '../genesis.ts';
import { checkInvariants, defineMsg, type Module, Registry } from '../module.ts';
import { WEI_PER_CGPT } from '../modules/bank/module.ts';
import { defaultModules } from '../modules/index.ts';
import { signTx } from '../tx.ts';
import { readValidatorSet } from '../validators.ts';

export type TestAccount = { privateKey: Uint8Array; address: Address };

/** A genesis validator: its operator account and its ed25519 consensus key. */
export type TestValidator = {
  operator: TestAccount;
  secretKey: Uint8Array;
  pubKey: Uint8Array;
  /** Consensus address, validatorAddress(pubKey). */
  address: Address;
  /** secp256k1 attestation key registered at genesis (createTestChain's attestationKeys option). */
  attestationKey?: TestAccount;
};

export type TestChain = {
  db: Database;
  state: StateTree;
  chain: ChainContext;
  head: Header;
  accounts: TestAccount[];
  validators: TestValidator[];
  /** Consensus secret keys by lowercased consensus address: buildBlock signs commits with these. */
  consensusKeys: Map<string, Uint8Array>;
  proposer: Address;
  dir: string;
  /** Run every module's invariants after each block and throw when one is broken. */
  checkInvariants?: boolean;
  close(): Promise<void>;
};

export const TEST_CHAIN_ID = 99n;
export const GAS_PRICE = 1_000_000_000n;
export const TEST_MNEMONIC = 'test test test test test test test test test test test junk';

/** Self-stake of each genesis validator (the staking default minimum), moved into the bonded pool. */
export const TEST_VALIDATOR_STAKE = 1_000n * WEI_PER_CGPT;

/** Deterministic consensus key of test validator i. */
export function testConsensusKey(i: number): Uint8Array {
  return new Uint8Array(32).fill(9 + i);
}

export async function createTestChain(
  opts: {
    accounts?: number;
    fundCgpt?: bigint;
    /** Genesis validators (default 1), each with its own operator account funded with exactly its stake. */
    validators?: number;
    /** Self-stake of each genesis validator in wei (default TEST_VALIDATOR_STAKE), or one per validator. */
    validatorStakes?: bigint[];
    /** Module sections; `staking.params`, `slashing.params` and `distribution.params` merge with the kit's. */
    app?: Record<string, unknown>;
    /** Check every module's invariants after each block (default on; false for a test that breaks one on purpose). */
    checkInvariants?: boolean;
    /** Give every genesis validator an attestation key (deterministic, from the test mnemonic). */
    attestationKeys?: boolean;
  } = {},
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
  const count = opts.validators ?? 1;
  const attestationKeys = opts.attestationKeys ? mnemonicToPrivateKeys(TEST_MNEMONIC, 2_000, count) : [];
  const validators: TestValidator[] = mnemonicToPrivateKeys(TEST_MNEMONIC, 1_000, count).map(
    (privateKey, i) => {
      const secretKey = testConsensusKey(i);
      const pubKey = ed25519PublicKey(secretKey);
      const att = attestationKeys[i];
      return {
        operator: { privateKey, address: privateKeyToAddress(privateKey) },
        secretKey,
        pubKey,
        address: validatorAddress(pubKey),
        ...(att ? { attestationKey: { privateKey: att, address: privateKeyToAddress(att) } } : {}),
      };
    },
  );
  const stakes = validators.map((_, i) => opts.validatorStakes?.[i] ?? TEST_VALIDATOR_STAKE);
  const fund = (opts.fundCgpt ?? 1_000n) * WEI_PER_CGPT;
  const app = { ...opts.app };
  const staking = (app.staking ?? {}) as Record<string, unknown>;
  const doc: GenesisDoc = {
    chainId: Number(TEST_CHAIN_ID),
    genesisTimeMs: 1_700_000_000_000,
    app: {
      ...app,
      bank: {
        balances: [
          ...accounts.map((a) => ({ address: a.address, amount: fund.toString() })),
          ...validators.map((v, i) => ({ address: v.operator.address, amount: stakes[i]!.toString() })),
        ],
        ...(app.bank as object),
      },
      // No emission unless a test asks for it: balances and supply then change only by what a test
      // does (fees still flow to validators through distribution).
      distribution: {
        ...(app.distribution as object),
        params: {
          emissionPerBlockWei: '0',
          ...(app.distribution as { params?: object } | undefined)?.params,
        },
      },
      staking: {
        validators: validators.map((v, i) => ({
          operator: v.operator.address,
          consensusPubKey: bytesToHex(v.pubKey),
          selfStake: stakes[i]!.toString(),
          ...(v.attestationKey ? { attestationKey: v.attestationKey.address } : {}),
        })),
        ...staking,
      },
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
    validators,
    consensusKeys: new Map(validators.map((v) => [v.address.toLowerCase(), v.secretKey])),
    proposer: validators[0]!.address,
    dir,
    checkInvariants: opts.checkInvariants !== false,
    async close() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The commit of the head block as the next block carries it: signed by every member of the head's
 * set whose key the kit holds, or only by `signers` (consensus addresses) when given.
 */
export async function makeLastCommit(
  tc: TestChain,
  opts: { signers?: readonly Address[]; round?: number } = {},
): Promise<LastCommit> {
  const parent = tc.head;
  const round = opts.round ?? 0;
  if (parent.height === 0n) return { round: 0, signatures: [] };
  const bytes = commitSignBytes(tc.chain.chainId, parent.height, round, headerHash(parent));
  const wanted = opts.signers?.map((s) => s.toLowerCase());
  const signatures = [];
  for (const v of await readValidatorSet(tc.state, 'previous')) {
    const key = tc.consensusKeys.get(v.address.toLowerCase());
    if (!key || (wanted && !wanted.includes(v.address.toLowerCase()))) continue;
    signatures.push({ validator: v.address, signature: ed25519Sign(bytes, key) });
  }
  return { round, signatures };
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
  opts: { signers?: readonly Address[]; timeStepMs?: bigint } = {},
): Promise<{ block: Block; result: BlockResult }> {
  const parent = tc.head;
  const lastCommit = await makeLastCommit(tc, { signers: opts.signers });
  const current = await readValidatorSet(tc.state, 'current');
  const info = {
    chainId: tc.chain.chainId,
    height: parent.height + 1n,
    timeMs: parent.timeMs + (opts.timeStepMs ?? 1_000n),
    proposer: proposerFor(current, 0) as Address,
    parentHash: headerHash(parent),
    lastCommit: { round: lastCommit.round, signers: lastCommit.signatures.map((s) => s.validator) },
  };
  const exec = await BlockExecution.begin(tc.state, info, tc.chain);
  for (const raw of txs) await exec.applyTx(raw);
  const result = await exec.finish();
  const { lastCommit: _signers, ...headerInfo } = info;
  const block: Block = {
    header: {
      ...headerInfo,
      stateRoot: result.stateRoot,
      txRoot: result.txRoot,
      resultsRoot: result.resultsRoot,
      validatorSetHash: validatorSetHash(current),
      lastCommitHash: lastCommitHash({ lastCommit }),
      gasUsed: result.gasUsed,
    },
    txs: exec.txs,
    lastCommit,
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
  if (tc.checkInvariants) {
    const broken = await checkInvariants(tc.state, tc.chain.registry);
    if (broken.length > 0)
      throw new Error(`invariants broken after block ${block.header.height}:\n${broken.join('\n')}`);
  }
}

/**
 * Adds a test-only module to the chain whose message `raw/write` ({ key, value }) writes any state
 * entry, so a test can corrupt state inside a block on purpose.
 */
export function withRawWrites(tc: TestChain): void {
  const raw: Module = {
    name: 'raw',
    messages: {
      'raw/write': defineMsg({
        schema: t.struct('RawWrite', { key: t.bytes(256), value: t.bytes(256) }),
        description: 'test only: write a state entry',
        handler: async (ctx, msg) => ctx.set(msg.key, msg.value),
      }),
    },
    queries: {},
  };
  tc.chain = { ...tc.chain, registry: new Registry([...tc.chain.registry.modules, raw]) };
}
