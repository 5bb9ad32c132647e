// Shared helpers of the staking and slashing tests.

import assert from 'node:assert/strict';
import type { Address } from '@aivm/crypto';
import {
  type BlockResult,
  BONDED_POOL,
  DEC,
  FEE_COLLECTOR,
  getBalance,
  getNonce,
  listValidators,
  NOT_BONDED_POOL,
  type Receipt,
} from '../src/index.ts';
import {
  DISTRIBUTION_ACCOUNT,
  getCommunityPoolDec,
  getOutstandingDec,
} from '../src/modules/distribution/store.ts';
import { buildBlock, signMsg, type TestAccount, type TestChain } from '../src/testing/index.ts';

export const CGPT = 10n ** 18n;

/** Sends one message in its own block; returns the receipt and the block result. */
export async function send(
  tc: TestChain,
  from: TestAccount,
  type: string,
  msg: Record<string, unknown>,
  opts: { timeStepMs?: bigint; signers?: readonly Address[] } = {},
): Promise<{ receipt: Receipt; result: BlockResult }> {
  const nonce = await getNonce(tc.state, from.address);
  const { result } = await buildBlock(
    tc,
    [signMsg(tc, from, nonce, type, msg, { gasLimit: 2_000_000n })],
    opts,
  );
  return { receipt: result.receipts[0]!, result };
}

/** Sends and asserts success. */
export async function ok(
  tc: TestChain,
  from: TestAccount,
  type: string,
  msg: Record<string, unknown>,
  opts: { timeStepMs?: bigint; signers?: readonly Address[] } = {},
): Promise<BlockResult> {
  const { receipt, result } = await send(tc, from, type, msg, opts);
  if (receipt.code !== 0) throw new Error(`${type} failed: ${receipt.error}`);
  return result;
}

/**
 * Sum of every balance the test chain knows of (accounts, operators, pools, fee collector, and the
 * distribution account that holds fees until validators and delegators withdraw them).
 */
export async function knownBalances(tc: TestChain, extra: Address[] = []): Promise<bigint> {
  const all = [
    ...tc.accounts.map((a) => a.address),
    ...tc.validators.map((v) => v.operator.address),
    BONDED_POOL,
    NOT_BONDED_POOL,
    FEE_COLLECTOR,
    DISTRIBUTION_ACCOUNT,
    ...extra,
  ];
  let total = 0n;
  for (const a of all) total += await getBalance(tc.state, a);
  return total;
}

/**
 * The distribution account holds exactly what distribution still owes: every validator's
 * outstanding rewards (commission included) plus the community pool, in dec-wei. Catches rewards
 * paid twice or left unaccounted when stake moves or is slashed.
 */
export async function assertRewardsBacked(tc: TestChain): Promise<void> {
  let owed = await getCommunityPoolDec(tc.state);
  for (const v of await listValidators(tc.state)) owed += await getOutstandingDec(tc.state, v.operator);
  assert.equal((await getBalance(tc.state, DISTRIBUTION_ACCOUNT)) * DEC, owed, 'distribution funds backed');
}

/** What a delegation would withdraw now, in whole wei (the distribution/pendingRewards query). */
export async function pendingRewards(tc: TestChain, delegator: Address, validator: Address): Promise<bigint> {
  const q = tc.chain.registry.query('distribution/pendingRewards');
  if (!q) throw new Error('distribution/pendingRewards is not registered');
  const r = (await q.handler(tc.state, { delegator, validator } as never)) as { wei: string };
  return BigInt(r.wei);
}
