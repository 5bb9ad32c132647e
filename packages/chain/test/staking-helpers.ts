// Shared helpers of the staking and slashing tests.

import type { Address } from '@aivm/crypto';
import {
  type BlockResult,
  BONDED_POOL,
  FEE_COLLECTOR,
  getBalance,
  getNonce,
  NOT_BONDED_POOL,
  type Receipt,
} from '../src/index.ts';
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
  if (!receipt.success) throw new Error(`${type} failed: ${receipt.error}`);
  return result;
}

/** Sum of every balance the test chain knows of (accounts, operators, pools, fee collector). */
export async function knownBalances(tc: TestChain, extra: Address[] = []): Promise<bigint> {
  const all = [
    ...tc.accounts.map((a) => a.address),
    ...tc.validators.map((v) => v.operator.address),
    BONDED_POOL,
    NOT_BONDED_POOL,
    FEE_COLLECTOR,
    ...extra,
  ];
  let total = 0n;
  for (const a of all) total += await getBalance(tc.state, a);
  return total;
}
