// Reward accounting: block allocation, F1 lazy per-validator periods, withdrawals, community pool.
// Every division rounds down; what rounding leaves behind stays in a validator's outstanding
// rewards or in the community pool, so the module never pays out more than it was given.

import type { Address } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { FEE_COLLECTOR } from '../../accounts.ts';
import { DEC } from '../../dec.ts';
import { ERR, ModuleError } from '../../errors.ts';
import { type ExecContext, readParams } from '../../module.ts';
import { getBalance, mint, transfer } from '../bank/store.ts';
import { distributionEvents } from './events.ts';
import type { StakingView, ValidatorView } from './expected.ts';
import { distributionParams } from './params.ts';
import {
  DISTRIBUTION_ACCOUNT,
  deleteStartingInfo,
  getCommissionDec,
  getCommunityPoolDec,
  getCurrentRewards,
  getHistorical,
  getOutstandingDec,
  getStartingInfo,
  type Historical,
  M,
  setCommissionDec,
  setCommunityPoolDec,
  setCurrentRewards,
  setHistorical,
  setOutstandingDec,
  setStartingInfo,
} from './store.ts';

export class NoDelegation extends ModuleError {
  constructor(delegator: Address, operator: Address) {
    super(`${delegator} has no delegation to validator ${operator}`);
  }
}

export class UnknownValidator extends ModuleError {
  constructor(operator: Address) {
    super(`unknown validator ${operator}`);
  }
}

async function requireHistorical(state: KVReader, operator: Address, period: bigint): Promise<Historical> {
  const h = await getHistorical(state, operator, period);
  if (!h) throw new Error(`distribution: missing historical rewards ${operator} period ${period}`);
  return h;
}

/** Starts the accounting of a new validator: period 0 closed with ratio 0, period 1 open. */
export async function initValidator(ctx: ExecContext, operator: Address): Promise<void> {
  if (await getCurrentRewards(ctx, operator)) return;
  setHistorical(ctx, operator, 0n, { ratio: 0n, factor: DEC, refs: 1 });
  setCurrentRewards(ctx, operator, { period: 1n, rewardsDec: 0n });
}

/**
 * Closes the validator's open period: its rewards become a ratio increment over the tokens that
 * earned them. Returns the closed period. A validator with no tokens has nobody to pay, so the
 * period's rewards go to the community pool.
 */
export async function incrementPeriod(
  ctx: ExecContext,
  view: StakingView,
  operator: Address,
): Promise<bigint> {
  const validator = await view.getValidator(ctx, operator);
  if (!validator) throw new UnknownValidator(operator);
  await initValidator(ctx, operator);
  const cur = (await getCurrentRewards(ctx, operator))!;
  const prev = await requireHistorical(ctx, operator, cur.period - 1n);
  let increment = 0n;
  if (validator.tokens === 0n) {
    if (cur.rewardsDec > 0n) {
      setCommunityPoolDec(ctx, (await getCommunityPoolDec(ctx)) + cur.rewardsDec);
      setOutstandingDec(ctx, operator, (await getOutstandingDec(ctx, operator)) - cur.rewardsDec);
    }
  } else {
    increment = (prev.factor * cur.rewardsDec) / validator.tokens;
  }
  setHistorical(ctx, operator, cur.period, { ratio: prev.ratio + increment, factor: prev.factor, refs: 1 });
  setHistorical(ctx, operator, cur.period - 1n, { ...prev, refs: prev.refs - 1 });
  setCurrentRewards(ctx, operator, { period: cur.period + 1n, rewardsDec: 0n });
  return cur.period;
}

function rewardsBetween(stake: bigint, start: Historical, end: Historical): bigint {
  if (start.factor === 0n || end.ratio <= start.ratio) return 0n;
  return (stake * (end.ratio - start.ratio)) / start.factor;
}

/** Records a delegation's stake from now on (after it was created or changed). */
export async function initDelegation(
  ctx: ExecContext,
  view: StakingView,
  delegator: Address,
  operator: Address,
): Promise<void> {
  const validator = await view.getValidator(ctx, operator);
  const delegation = await view.getDelegation(ctx, delegator, operator);
  if (!validator || !delegation || delegation.shares === 0n) return;
  const cur = await getCurrentRewards(ctx, operator);
  if (!cur) throw new Error(`distribution: validator ${operator} was never initialised`);
  const previousPeriod = cur.period - 1n;
  const h = await requireHistorical(ctx, operator, previousPeriod);
  setHistorical(ctx, operator, previousPeriod, { ...h, refs: h.refs + 1 });
  setStartingInfo(ctx, operator, delegator, {
    previousPeriod,
    stake: view.tokensFromShares(validator, delegation.shares),
    height: ctx.block.height,
  });
}

/**
 * Pays a delegation's rewards up to now and forgets its starting info (the caller re-initialises
 * it). The payout is capped by the validator's outstanding rewards; sub-wei fractions go to the
 * community pool. Returns the wei paid.
 */
export async function withdrawDelegationRewards(
  ctx: ExecContext,
  view: StakingView,
  delegator: Address,
  operator: Address,
): Promise<bigint> {
  const start = await getStartingInfo(ctx, operator, delegator);
  if (!start) throw new NoDelegation(delegator, operator);
  const endPeriod = await incrementPeriod(ctx, view, operator);
  const startH = await requireHistorical(ctx, operator, start.previousPeriod);
  const endH = await requireHistorical(ctx, operator, endPeriod);
  const outstanding = await getOutstandingDec(ctx, operator);
  let rewardsDec = rewardsBetween(start.stake, startH, endH);
  if (rewardsDec > outstanding) rewardsDec = outstanding;
  const paid = rewardsDec / DEC;
  setOutstandingDec(ctx, operator, outstanding - rewardsDec);
  const dust = rewardsDec - paid * DEC;
  if (dust > 0n) setCommunityPoolDec(ctx, (await getCommunityPoolDec(ctx)) + dust);
  await transfer(ctx, DISTRIBUTION_ACCOUNT, delegator, paid);
  setHistorical(ctx, operator, start.previousPeriod, { ...startH, refs: startH.refs - 1 });
  deleteStartingInfo(ctx, operator, delegator);
  distributionEvents.emit(ctx, 'withdrawRewards', {
    delegator,
    validator: operator,
    amount: paid.toString(),
  });
  return paid;
}

/** Pays the operator its accumulated commission in whole wei; the fraction stays accumulated. */
export async function withdrawCommission(ctx: ExecContext, operator: Address): Promise<bigint> {
  const commission = await getCommissionDec(ctx, operator);
  const outstanding = await getOutstandingDec(ctx, operator);
  // Commission is part of outstanding; the cap only matters if rounding ever drained outstanding.
  let payable = commission;
  if (payable > outstanding) payable = outstanding;
  const paid = payable / DEC;
  if (paid === 0n) throw new ModuleError(`validator ${operator} has no commission to withdraw`);
  setCommissionDec(ctx, operator, commission - paid * DEC);
  setOutstandingDec(ctx, operator, outstanding - paid * DEC);
  await transfer(ctx, DISTRIBUTION_ACCOUNT, operator, paid);
  distributionEvents.emit(ctx, 'withdrawCommission', { validator: operator, amount: paid.toString() });
  return paid;
}

/** Rewards a delegation would withdraw now (dec-wei, before the sub-wei rounding). No writes. */
export async function pendingRewardsDec(
  state: KVReader,
  view: StakingView,
  delegator: Address,
  operator: Address,
): Promise<bigint> {
  const start = await getStartingInfo(state, operator, delegator);
  const validator = await view.getValidator(state, operator);
  const cur = await getCurrentRewards(state, operator);
  if (!start || !validator || !cur) return 0n;
  const prev = await requireHistorical(state, operator, cur.period - 1n);
  const increment = validator.tokens === 0n ? 0n : (prev.factor * cur.rewardsDec) / validator.tokens;
  const now = { ratio: prev.ratio + increment, factor: prev.factor, refs: 0 };
  const startH = await requireHistorical(state, operator, start.previousPeriod);
  const rewards = rewardsBetween(start.stake, startH, now);
  const outstanding = await getOutstandingDec(state, operator);
  if (rewards > outstanding) return outstanding;
  return rewards;
}

/**
 * A slash of `fraction` (DEC) of the validator's tokens is about to happen: close the period at the
 * pre-slash tokens, then scale every later period's stake by (1 - fraction).
 */
export async function recordSlash(
  ctx: ExecContext,
  view: StakingView,
  operator: Address,
  fraction: bigint,
): Promise<void> {
  if (fraction < 0n || fraction > DEC)
    throw new Error(`distribution: slash fraction ${fraction} outside 0..DEC`);
  const period = await incrementPeriod(ctx, view, operator);
  const h = await requireHistorical(ctx, operator, period);
  setHistorical(ctx, operator, period, { ...h, factor: (h.factor * (DEC - fraction)) / DEC });
  distributionEvents.emit(ctx, 'slash', {
    validator: operator,
    fraction: fraction.toString(),
    period: period.toString(),
  });
}

async function allocateToValidator(
  ctx: ExecContext,
  validator: ValidatorView,
  rewardDec: bigint,
): Promise<void> {
  const operator = validator.operator;
  await initValidator(ctx, operator);
  const commission = (rewardDec * validator.commissionRate) / DEC;
  const cur = (await getCurrentRewards(ctx, operator))!;
  setCurrentRewards(ctx, operator, { ...cur, rewardsDec: cur.rewardsDec + rewardDec - commission });
  setCommissionDec(ctx, operator, (await getCommissionDec(ctx, operator)) + commission);
  setOutstandingDec(ctx, operator, (await getOutstandingDec(ctx, operator)) + rewardDec);
}

/**
 * Distributes the parent block's fees plus this block's emission: the community tax to the pool,
 * the rest to the validators that signed the parent block by their share of the previous set's
 * power. Shares of absent signers and rounding remainders also go to the pool.
 */
export async function allocateBlockRewards(ctx: ExecContext, view: StakingView): Promise<void> {
  const signers = ctx.block.lastCommit.signers;
  if (signers.length === 0) return; // nothing to pay by; fees wait for the next block with a commit
  const set = await view.previousValidatorSet(ctx);
  let totalPower = 0n;
  for (const v of set) totalPower += v.power;
  if (totalPower === 0n) return;
  const params = await readParams(ctx, M, distributionParams);
  const fees = await getBalance(ctx, FEE_COLLECTOR);
  await transfer(ctx, FEE_COLLECTOR, DISTRIBUTION_ACCOUNT, fees);
  if (params.emissionPerBlockWei > 0n) await mint(ctx, DISTRIBUTION_ACCOUNT, params.emissionPerBlockWei);
  const totalDec = (fees + params.emissionPerBlockWei) * DEC;
  if (totalDec === 0n) return;
  const forValidators = (totalDec * (DEC - params.communityTax)) / DEC;
  let remaining = totalDec;
  const seen = new Set<string>();
  for (const signer of signers) {
    const key = signer.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const member = set.find((v) => v.address.toLowerCase() === key);
    if (!member) continue;
    const validator = await view.getValidatorByConsensusAddress(ctx, signer);
    if (!validator) continue;
    const reward = (forValidators * member.power) / totalPower;
    await allocateToValidator(ctx, validator, reward);
    remaining -= reward;
  }
  setCommunityPoolDec(ctx, (await getCommunityPoolDec(ctx)) + remaining);
  distributionEvents.emit(ctx, 'allocate', {
    fees: fees.toString(),
    emission: params.emissionPerBlockWei.toString(),
    communityPoolDec: remaining.toString(),
  });
}

/** Pays `amountWei` out of the community pool (governance only). Checks before writing. */
export async function spendCommunityPool(
  ctx: ExecContext,
  recipient: Address,
  amountWei: bigint,
): Promise<void> {
  const pool = await getCommunityPoolDec(ctx);
  if (amountWei * DEC > pool) {
    throw new ModuleError(
      `community pool holds ${pool / DEC} wei, cannot spend ${amountWei} wei`,
      ERR.INSUFFICIENT_FUNDS,
    );
  }
  setCommunityPoolDec(ctx, pool - amountWei * DEC);
  await transfer(ctx, DISTRIBUTION_ACCOUNT, recipient, amountWei);
  distributionEvents.emit(ctx, 'communityPoolSpend', { recipient, amount: amountWei.toString() });
}
