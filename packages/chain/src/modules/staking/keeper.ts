// Staking state transitions shared by the message handlers, end block, genesis and slashing.
// Pools: a bonded validator's tokens sit in BONDED_POOL; tokens of validators not bonded and the
// balances of maturing undelegations sit in NOT_BONDED_POOL, so the bank supply stays whole and
// every staked wei is visible in some account.

import type { Address } from '@aivm/crypto';
import { bytesToHex, equalBytes, InvalidSignatureError } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { BONDED_POOL, NOT_BONDED_POOL, validatorAddress } from '../../accounts.ts';
import { attestationKeyProofSigner, attestationMembersHash } from '../../attestation.ts';
import type { Validator } from '../../block.ts';
import { validatorSetHash } from '../../block.ts';
import { DEC, decMul } from '../../dec.ts';
import { ModuleError } from '../../errors.ts';
import { GAS } from '../../gas.ts';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import { compareValidators, readValidatorSet, setNextValidatorSet } from '../../validators.ts';
import { burn, transfer } from '../bank/store.ts';
import { stakingEvents } from './events.ts';
import type { StakingHooks } from './hooks.ts';
import {
  MATURITY_BUCKET_MS,
  MAX_BUCKET_ITEMS,
  MAX_VALIDATOR_RECORDS,
  type StakingParams,
  stakingParams,
} from './params.ts';
import * as store from './store.ts';
import {
  type AttestationSet,
  addPair,
  addToList,
  delegatorsOfKey,
  delegatorValidatorsKey,
  deleteAttestationSet,
  getAttestationKey,
  getAttestationKeyOwner,
  getAttestationSetId,
  getBucket,
  getBucketIndex,
  getCurrentAttestationSet,
  getDelegation,
  getOldestAttestationSetId,
  getOperators,
  getRedelegationEntries,
  getRedelegationsFrom,
  getRedelegationsOf,
  getUnbondingDelegatorsOf,
  getUnbondingEntries,
  getValidator,
  getValidatorByConsensusAddress,
  listValidators,
  putAttestationSet,
  type QueueItem,
  redelegationsBySourceKey,
  redelegationsOfDelegatorKey,
  removeFromList,
  removePair,
  setAttestationKeyOwner,
  setAttestationKeyRetiredAt,
  setBucket,
  setBucketIndex,
  setConsensusIndex,
  setDelegation,
  setOldestAttestationSetId,
  setOperators,
  setRedelegationEntries,
  setUnbondingEntries,
  setValidator,
  setAttestationKey as storeAttestationKey,
  unbondingByValidatorKey,
  type ValidatorRecord,
  ZERO_ADDRESS,
} from './store.ts';

export const POWER_REDUCTION = 10n ** 18n;

/** Voting power of a token amount: 1 CGPT = 1 power. */
export function powerOf(tokens: bigint): bigint {
  return tokens / POWER_REDUCTION;
}

const poolOf = (v: ValidatorRecord) => (v.status === 'bonded' ? BONDED_POOL : NOT_BONDED_POOL);
const same = (x: string, y: string) => x.toLowerCase() === y.toLowerCase();

export function params(ctx: ExecContext): Promise<StakingParams> {
  return readParams(ctx, 'staking', stakingParams);
}

async function mustGetValidator(ctx: ExecContext, operator: Address): Promise<ValidatorRecord> {
  const v = await getValidator(ctx, operator);
  requireThat(v !== undefined, `no validator with operator ${operator}`);
  return v;
}

export type CreateValidatorInput = {
  operator: Address;
  consensusPubKey: Uint8Array;
  moniker: string;
  selfStake: bigint;
  commissionRate: bigint;
  maxCommissionRate: bigint;
  maxCommissionChangeRate: bigint;
};

export async function createValidator(
  ctx: ExecContext,
  hooks: StakingHooks,
  input: CreateValidatorInput,
): Promise<void> {
  const p = await params(ctx);
  const { operator } = input;
  requireThat((await getValidator(ctx, operator)) === undefined, `${operator} is already a validator`);
  const consensusAddress = validatorAddress(input.consensusPubKey);
  requireThat(
    (await getValidatorByConsensusAddress(ctx, consensusAddress)) === undefined,
    'consensus key is already used by another validator',
  );
  requireThat(
    input.selfStake >= p.minSelfDelegation,
    `self-stake must be at least ${p.minSelfDelegation} wei`,
  );
  requireThat(input.maxCommissionRate <= DEC, 'maxCommissionRate must be <= 1');
  requireThat(input.commissionRate <= input.maxCommissionRate, 'commissionRate must be <= maxCommissionRate');
  requireThat(
    input.commissionRate >= p.minCommissionRate,
    `commissionRate must be >= ${p.minCommissionRate}`,
  );
  requireThat(
    input.maxCommissionChangeRate <= input.maxCommissionRate,
    'maxCommissionChangeRate must be <= maxCommissionRate',
  );
  const operators = await getOperators(ctx);
  requireThat(
    operators.length < MAX_VALIDATOR_RECORDS,
    `at most ${MAX_VALIDATOR_RECORDS} validators may exist`,
  );
  operators.push(operator);
  setOperators(ctx, operators);
  setConsensusIndex(ctx, consensusAddress, operator);
  const v: ValidatorRecord = {
    operator,
    consensusPubKey: input.consensusPubKey,
    consensusAddress,
    moniker: input.moniker,
    tokens: 0n,
    delegatorShares: 0n,
    commissionRate: input.commissionRate,
    maxCommissionRate: input.maxCommissionRate,
    maxCommissionChangeRate: input.maxCommissionChangeRate,
    commissionUpdatedMs: ctx.block.timeMs,
    status: 'unbonded',
    jailed: false,
    jailedUntilMs: 0n,
    tombstoned: false,
    unbondingHeight: 0n,
    unbondingCompletionMs: 0n,
  };
  setValidator(ctx, v);
  await hooks.afterValidatorCreated(ctx, operator);
  await delegate(ctx, hooks, operator, operator, input.selfStake, p);
  stakingEvents.emit(ctx, 'createValidator', {
    operator,
    consensusAddress,
    selfStake: input.selfStake.toString(),
  });
}

/** Moves `amount` from the delegator's balance to the validator's pool and issues shares. */
export async function delegate(
  ctx: ExecContext,
  hooks: StakingHooks,
  delegator: Address,
  operator: Address,
  amount: bigint,
  p?: StakingParams,
): Promise<bigint> {
  requireThat(amount > 0n, 'amount must be positive');
  const v = await mustGetValidator(ctx, operator);
  await transfer(ctx, delegator, poolOf(v), amount);
  return addDelegation(ctx, hooks, delegator, v, amount, p ?? (await params(ctx)));
}

/** Issues shares for `amount` tokens already in the validator's pool. */
async function addDelegation(
  ctx: ExecContext,
  hooks: StakingHooks,
  delegator: Address,
  v: ValidatorRecord,
  amount: bigint,
  p: StakingParams,
): Promise<bigint> {
  requireThat(!v.tombstoned, `validator ${v.operator} is tombstoned`);
  requireThat(v.tokens > 0n || v.delegatorShares === 0n, `validator ${v.operator} has lost all its tokens`);
  const shares = v.delegatorShares === 0n ? amount : (amount * v.delegatorShares) / v.tokens;
  requireThat(shares > 0n, 'amount too small to buy a share');
  await hooks.beforeDelegationSharesModified(ctx, delegator, v.operator);
  const current = (await getDelegation(ctx, delegator, v.operator))?.shares ?? 0n;
  if (current === 0n) {
    requireThat(
      await addToList(ctx, delegatorsOfKey(v.operator), delegator, p.maxDelegatorsPerValidator),
      `validator ${v.operator} has reached ${p.maxDelegatorsPerValidator} delegators`,
    );
    requireThat(
      await addToList(ctx, delegatorValidatorsKey(delegator), v.operator, p.maxValidatorsPerDelegator),
      `an account may delegate to at most ${p.maxValidatorsPerDelegator} validators`,
    );
  }
  setDelegation(ctx, delegator, v.operator, current + shares);
  v.tokens += amount;
  v.delegatorShares += shares;
  setValidator(ctx, v);
  await hooks.afterDelegationModified(ctx, delegator, v.operator);
  return shares;
}

/**
 * Shares worth `amount` tokens of the delegation, rounded up so that rounding never pays out more
 * than the shares are worth; refuses more than the delegation holds.
 */
async function sharesForAmount(
  ctx: ExecContext,
  delegator: Address,
  v: ValidatorRecord,
  amount: bigint,
): Promise<bigint> {
  requireThat(amount > 0n, 'amount must be positive');
  const held = (await getDelegation(ctx, delegator, v.operator))?.shares ?? 0n;
  requireThat(held > 0n, `no delegation to ${v.operator}`);
  requireThat(v.tokens > 0n, `validator ${v.operator} has no tokens left`);
  const worth = (held * v.tokens) / v.delegatorShares;
  requireThat(amount <= worth, `amount ${amount} exceeds the delegation (${worth} wei)`);
  const shares = (amount * v.delegatorShares + v.tokens - 1n) / v.tokens;
  return shares < held ? shares : held;
}

/** Burns `shares` of the delegation and returns their tokens (taken off the validator, not moved). */
async function removeShares(
  ctx: ExecContext,
  hooks: StakingHooks,
  delegator: Address,
  v: ValidatorRecord,
  shares: bigint,
  p: StakingParams,
  checkSelfBond: boolean,
): Promise<bigint> {
  const held = (await getDelegation(ctx, delegator, v.operator))?.shares ?? 0n;
  requireThat(shares > 0n && shares <= held, 'not enough delegation shares');
  await hooks.beforeDelegationSharesModified(ctx, delegator, v.operator);
  const tokens = shares === v.delegatorShares ? v.tokens : (shares * v.tokens) / v.delegatorShares;
  setDelegation(ctx, delegator, v.operator, held - shares);
  if (held === shares) {
    await removeFromList(ctx, delegatorsOfKey(v.operator), delegator);
    await removeFromList(ctx, delegatorValidatorsKey(delegator), v.operator);
  }
  v.tokens -= tokens;
  v.delegatorShares -= shares;
  // An operator whose self-delegation falls below the minimum stops validating until restored.
  if (checkSelfBond && same(delegator, v.operator) && !v.jailed) {
    const selfTokens = v.delegatorShares === 0n ? 0n : ((held - shares) * v.tokens) / v.delegatorShares;
    if (selfTokens < p.minSelfDelegation) {
      v.jailed = true;
      stakingEvents.emit(ctx, 'jail', {
        operator: v.operator,
        reason: 'self-delegation below minimum',
        untilMs: v.jailedUntilMs.toString(),
        tombstoned: String(v.tombstoned),
      });
    }
  }
  setValidator(ctx, v);
  await hooks.afterDelegationModified(ctx, delegator, v.operator);
  return tokens;
}

export async function undelegate(
  ctx: ExecContext,
  hooks: StakingHooks,
  delegator: Address,
  operator: Address,
  amount: bigint,
): Promise<void> {
  const p = await params(ctx);
  const v = await mustGetValidator(ctx, operator);
  const entries = await getUnbondingEntries(ctx, delegator, operator);
  requireThat(entries.length < p.maxEntries, `at most ${p.maxEntries} unbonding entries per validator`);
  const shares = await sharesForAmount(ctx, delegator, v, amount);
  const pool = poolOf(v);
  const tokens = await removeShares(ctx, hooks, delegator, v, shares, p, true);
  await transfer(ctx, pool, NOT_BONDED_POOL, tokens);
  const completionTimeMs = ctx.block.timeMs + p.unbondingTimeMs;
  entries.push({
    creationHeight: ctx.block.height,
    completionTimeMs,
    initialBalance: tokens,
    balance: tokens,
  });
  setUnbondingEntries(ctx, delegator, operator, entries);
  requireThat(
    await addToList(ctx, unbondingByValidatorKey(operator), delegator, 10_000),
    'too many accounts are unbonding from this validator',
  );
  await enqueue(ctx, completionTimeMs, { kind: 0, delegator, validator: operator, dst: operator });
  stakingEvents.emit(ctx, 'undelegate', {
    delegator,
    validator: operator,
    amount: tokens.toString(),
    completionTimeMs: completionTimeMs.toString(),
  });
}

export async function redelegate(
  ctx: ExecContext,
  hooks: StakingHooks,
  delegator: Address,
  srcOp: Address,
  dstOp: Address,
  amount: bigint,
): Promise<void> {
  const p = await params(ctx);
  requireThat(!same(srcOp, dstOp), 'source and destination validators must differ');
  const src = await mustGetValidator(ctx, srcOp);
  const dst = await mustGetValidator(ctx, dstOp);
  requireThat(!dst.tombstoned, `validator ${dstOp} is tombstoned`);
  // No transitive redelegation: stake that arrived by a maturing redelegation must stay put, or a
  // slash of its first validator could no longer reach it.
  for (const r of await getRedelegationsOf(ctx, delegator)) {
    if (same(r.dst, srcOp)) {
      const pending = await getRedelegationEntries(ctx, delegator, r.src, r.dst);
      requireThat(
        !pending.some((e) => e.completionTimeMs > ctx.block.timeMs),
        `a redelegation into ${srcOp} is still maturing; it cannot be redelegated again yet`,
      );
    }
  }
  const entries = await getRedelegationEntries(ctx, delegator, srcOp, dstOp);
  requireThat(entries.length < p.maxEntries, `at most ${p.maxEntries} redelegation entries per pair`);
  const shares = await sharesForAmount(ctx, delegator, src, amount);
  const srcPool = poolOf(src);
  const tokens = await removeShares(ctx, hooks, delegator, src, shares, p, true);
  requireThat(tokens > 0n, 'amount too small');
  const dstFresh = await mustGetValidator(ctx, dstOp);
  await transfer(ctx, srcPool, poolOf(dstFresh), tokens);
  const sharesDst = await addDelegation(ctx, hooks, delegator, dstFresh, tokens, p);
  const completionTimeMs = ctx.block.timeMs + p.unbondingTimeMs;
  entries.push({ creationHeight: ctx.block.height, completionTimeMs, initialBalance: tokens, sharesDst });
  setRedelegationEntries(ctx, delegator, srcOp, dstOp, entries);
  requireThat(
    await addPair(ctx, redelegationsBySourceKey(srcOp), { a: delegator, b: dstOp }, 10_000),
    'too many redelegations away from this validator',
  );
  requireThat(
    await addPair(ctx, redelegationsOfDelegatorKey(delegator), { a: srcOp, b: dstOp }, 1_000),
    'too many maturing redelegations',
  );
  await enqueue(ctx, completionTimeMs, { kind: 1, delegator, validator: srcOp, dst: dstOp });
  stakingEvents.emit(ctx, 'redelegate', {
    delegator,
    src: srcOp,
    dst: dstOp,
    amount: tokens.toString(),
    completionTimeMs: completionTimeMs.toString(),
  });
}

// --- maturity queue -----------------------------------------------------------------------------

async function enqueue(ctx: ExecContext, completionTimeMs: bigint, item: QueueItem): Promise<void> {
  const bucket = completionTimeMs / MATURITY_BUCKET_MS;
  const items = await getBucket(ctx, bucket);
  const dup = items.some(
    (x) =>
      x.kind === item.kind &&
      same(x.delegator, item.delegator) &&
      same(x.validator, item.validator) &&
      same(x.dst, item.dst),
  );
  if (dup) return;
  requireThat(items.length < MAX_BUCKET_ITEMS, 'the unbonding queue for this hour is full; retry later');
  items.push(item);
  setBucket(ctx, bucket, items);
  const index = await getBucketIndex(ctx);
  if (!index.includes(bucket)) {
    index.push(bucket);
    index.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    setBucketIndex(ctx, index);
  }
}

/** Completes what matured by this block's time; an item stays while it has entries left in its bucket. */
export async function matureQueue(ctx: ExecContext): Promise<void> {
  const now = ctx.block.timeMs;
  const index = await getBucketIndex(ctx);
  const keep: bigint[] = [];
  let changed = false;
  for (const bucket of index) {
    if (bucket * MATURITY_BUCKET_MS > now) {
      keep.push(bucket);
      continue;
    }
    const inBucket = (ms: bigint) => ms / MATURITY_BUCKET_MS === bucket;
    const left: QueueItem[] = [];
    for (const item of await getBucket(ctx, bucket)) {
      if (await matureItem(ctx, item, now, inBucket)) left.push(item);
    }
    setBucket(ctx, bucket, left);
    if (left.length > 0) keep.push(bucket);
    else changed = true;
  }
  if (changed) setBucketIndex(ctx, keep);
}

/** Returns true when the item still has entries due in its bucket. */
async function matureItem(
  ctx: ExecContext,
  item: QueueItem,
  now: bigint,
  inBucket: (ms: bigint) => boolean,
): Promise<boolean> {
  if (item.kind === 0) {
    const entries = await getUnbondingEntries(ctx, item.delegator, item.validator);
    const left = [];
    for (const e of entries) {
      if (e.completionTimeMs > now) {
        left.push(e);
        continue;
      }
      await transfer(ctx, NOT_BONDED_POOL, item.delegator, e.balance);
      stakingEvents.emit(ctx, 'unbondingComplete', {
        delegator: item.delegator,
        validator: item.validator,
        amount: e.balance.toString(),
      });
    }
    if (left.length !== entries.length) setUnbondingEntries(ctx, item.delegator, item.validator, left);
    if (left.length === 0) await removeFromList(ctx, unbondingByValidatorKey(item.validator), item.delegator);
    return left.some((e) => inBucket(e.completionTimeMs));
  }
  if (item.kind === 1) {
    const entries = await getRedelegationEntries(ctx, item.delegator, item.validator, item.dst);
    const left = entries.filter((e) => e.completionTimeMs > now);
    if (left.length !== entries.length)
      setRedelegationEntries(ctx, item.delegator, item.validator, item.dst, left);
    if (left.length === 0) {
      await removePair(ctx, redelegationsBySourceKey(item.validator), { a: item.delegator, b: item.dst });
      await removePair(ctx, redelegationsOfDelegatorKey(item.delegator), { a: item.validator, b: item.dst });
    }
    return left.some((e) => inBucket(e.completionTimeMs));
  }
  const v = await getValidator(ctx, item.validator);
  if (v?.status !== 'unbonding') return false;
  if (v.unbondingCompletionMs > now) return inBucket(v.unbondingCompletionMs);
  v.status = 'unbonded';
  setValidator(ctx, v);
  return false;
}

// --- slashing and jailing (called by the slashing module) ----------------------------------------

/**
 * Slashes `fraction` (DEC-scaled) of the validator's stake for an infraction at `infractionHeight`:
 * its current tokens (all delegators share it through the exchange rate), plus unbonding entries
 * and redelegations away from it created at or after the infraction (that stake was at risk
 * when the fault happened). Entries created before are untouched. Slashed tokens are burned.
 * Returns the total burned (wei).
 */
export async function slash(
  ctx: ExecContext,
  hooks: StakingHooks,
  operator: Address,
  infractionHeight: bigint,
  fraction: bigint,
): Promise<bigint> {
  requireThat(fraction >= 0n && fraction <= DEC, 'slash fraction must be within 0..1');
  const p = await params(ctx);
  let burned = 0n;
  for (const delegator of await getUnbondingDelegatorsOf(ctx, operator)) {
    const entries = await getUnbondingEntries(ctx, delegator, operator);
    let changed = false;
    for (const e of entries) {
      if (e.creationHeight < infractionHeight || e.balance === 0n) continue;
      const cut = decMul(e.initialBalance, fraction);
      // biome-ignore lint/complexity/useMathMinMax: Math.min does not take bigint
      const amount = cut < e.balance ? cut : e.balance;
      e.balance -= amount;
      burned += amount;
      changed = true;
      await burn(ctx, NOT_BONDED_POOL, amount);
    }
    if (changed) setUnbondingEntries(ctx, delegator, operator, entries);
  }
  for (const { delegator, dst } of await getRedelegationsFrom(ctx, operator)) {
    const entries = await getRedelegationEntries(ctx, delegator, operator, dst);
    for (const e of entries) {
      if (e.creationHeight < infractionHeight) continue;
      const dstV = await getValidator(ctx, dst);
      const held = (await getDelegation(ctx, delegator, dst))?.shares ?? 0n;
      if (!dstV || held === 0n) continue;
      const want = decMul(e.sharesDst, fraction);
      const shares = want < held ? want : held;
      if (shares === 0n) continue;
      const pool = poolOf(dstV);
      const tokens = await removeShares(ctx, hooks, delegator, dstV, shares, p, false);
      await burn(ctx, pool, tokens);
      burned += tokens;
    }
  }
  const v = await mustGetValidator(ctx, operator);
  const cut = decMul(v.tokens, fraction);
  await hooks.beforeValidatorSlashed(ctx, operator, fraction);
  const fresh = await mustGetValidator(ctx, operator);
  fresh.tokens -= cut;
  setValidator(ctx, fresh);
  await burn(ctx, poolOf(fresh), cut);
  burned += cut;
  stakingEvents.emit(ctx, 'slash', {
    operator,
    infractionHeight: infractionHeight.toString(),
    fraction: fraction.toString(),
    burned: burned.toString(),
  });
  return burned;
}

/** Jails a validator (removed from the active set at the end of the block). */
export async function jail(
  ctx: ExecContext,
  operator: Address,
  untilMs: bigint,
  tombstone: boolean,
): Promise<void> {
  const v = await mustGetValidator(ctx, operator);
  v.jailed = true;
  if (untilMs > v.jailedUntilMs) v.jailedUntilMs = untilMs;
  if (tombstone) v.tombstoned = true;
  setValidator(ctx, v);
  stakingEvents.emit(ctx, 'jail', {
    operator,
    reason: tombstone ? 'double sign' : 'downtime',
    untilMs: untilMs.toString(),
    tombstoned: String(v.tombstoned),
  });
}

/** Lifts a jail; the caller (slashing/unjail) checks who may and when. */
export async function unjail(ctx: ExecContext, operator: Address): Promise<void> {
  const p = await params(ctx);
  const v = await mustGetValidator(ctx, operator);
  requireThat(v.jailed, `validator ${operator} is not jailed`);
  requireThat(!v.tombstoned, `validator ${operator} is tombstoned and can never be unjailed`);
  requireThat(
    ctx.block.timeMs >= v.jailedUntilMs,
    `validator ${operator} is jailed until ${v.jailedUntilMs} ms`,
  );
  const self = (await getDelegation(ctx, operator, operator))?.shares ?? 0n;
  const selfTokens = v.delegatorShares === 0n ? 0n : (self * v.tokens) / v.delegatorShares;
  requireThat(
    selfTokens >= p.minSelfDelegation,
    `self-delegation ${selfTokens} is below the minimum ${p.minSelfDelegation}`,
  );
  v.jailed = false;
  setValidator(ctx, v);
  stakingEvents.emit(ctx, 'unjail', { operator });
}

// --- active set ----------------------------------------------------------------------------------

/**
 * End of block: the top maxValidators unjailed validators with power >= 1 become bonded (tokens
 * move to BONDED_POOL), bonded ones that dropped out start unbonding, and the consensus set of
 * the next height is set when it differs from the current one.
 */
export async function updateActiveSet(ctx: ExecContext): Promise<void> {
  const p = await params(ctx);
  const all = await listValidators(ctx);
  const eligible = all
    .filter((v) => !v.jailed && !v.tombstoned && powerOf(v.tokens) >= 1n)
    .map((v) => ({
      v,
      set: { address: v.consensusAddress, pubKey: v.consensusPubKey, power: powerOf(v.tokens) },
    }))
    .sort((x, y) => compareValidators(x.set, y.set));
  const top = eligible.slice(0, p.maxValidators);
  const active = new Set(top.map((x) => x.v.operator.toLowerCase()));
  for (const v of all) {
    const inSet = active.has(v.operator.toLowerCase());
    if (inSet && v.status !== 'bonded') {
      await transfer(ctx, NOT_BONDED_POOL, BONDED_POOL, v.tokens);
      v.status = 'bonded';
      setValidator(ctx, v);
      stakingEvents.emit(ctx, 'bonded', { operator: v.operator });
    } else if (!inSet && v.status === 'bonded') {
      await transfer(ctx, BONDED_POOL, NOT_BONDED_POOL, v.tokens);
      v.status = 'unbonding';
      v.unbondingHeight = ctx.block.height;
      v.unbondingCompletionMs = ctx.block.timeMs + p.unbondingTimeMs;
      setValidator(ctx, v);
      await enqueue(ctx, v.unbondingCompletionMs, {
        kind: 2,
        delegator: v.operator,
        validator: v.operator,
        dst: v.operator,
      });
      stakingEvents.emit(ctx, 'unbonding', { operator: v.operator });
    }
  }
  // An empty set would halt the chain for good; keep the old one and let the chain keep running.
  if (top.length === 0) return;
  const next: Validator[] = top.map((x) => x.set);
  const current = await readValidatorSet(ctx, 'current');
  if (!equalBytes(validatorSetHash(next), validatorSetHash(current))) setNextValidatorSet(ctx, next);
  const members = [];
  for (const x of top)
    members.push({ signer: await getAttestationKey(ctx, x.v.operator), power: x.set.power });
  await updateAttestationSet(ctx, members, p);
}

/** Most old attestation sets deleted when one new set begins. */
const MAX_SET_PRUNES = 64n;

/**
 * Makes `members` (the active set's order) the attestation set when its (signer, power) list
 * differs from the current one's: id + 1, the set that fell out of the kept window deleted.
 */
async function updateAttestationSet(
  ctx: ExecContext,
  members: AttestationSet['members'],
  p: StakingParams,
): Promise<void> {
  const current = await getCurrentAttestationSet(ctx);
  if (
    current &&
    current.members.length === members.length &&
    current.members.every((m, i) => same(m.signer, members[i]!.signer) && m.power === members[i]!.power)
  )
    return;
  const id = (current?.id ?? 0n) + 1n;
  putAttestationSet(ctx, { id, startHeight: ctx.block.height, members });
  // Sets that fell out of the kept window go; a window shrunk by governance is caught up at most
  // MAX_SET_PRUNES sets per new set.
  let oldest = await getOldestAttestationSetId(ctx);
  const start = oldest;
  while (oldest + BigInt(p.attestationSetsKept) <= id && oldest - start < MAX_SET_PRUNES) {
    deleteAttestationSet(ctx, oldest);
    oldest += 1n;
  }
  if (oldest !== start) setOldestAttestationSetId(ctx, oldest);
  stakingEvents.emit(ctx, 'attestationSet', {
    id: id.toString(),
    members: String(members.length),
    membersHash: bytesToHex(attestationMembersHash(members)),
  });
}

/**
 * Registers `key` as the validator's attestation key: non-zero, held by the sender and never
 * registered by another validator (a key once used stays bound to its validator, so evidence always
 * names one). The attestation set picks it up at the end of the block.
 *
 * `proof` is the key's signature over `AivmAttestationKey(operator)` (staking/setAttestationKey):
 * it must recover to `key`, so nobody registers a key they do not hold (someone else's, or one
 * nobody holds), and it names the operator, so one validator's proof is no use to another. Genesis
 * passes 'genesis': the genesis file is trusted by construction, as for the consensus keys in it.
 */
export async function setAttestationKey(
  ctx: ExecContext,
  operator: Address,
  key: Address,
  proof: Uint8Array | 'genesis',
): Promise<void> {
  const v = await getValidator(ctx, operator);
  requireThat(v !== undefined, `${operator} is not a validator operator`);
  requireThat(!same(key, ZERO_ADDRESS), 'attestation key must not be the zero address');
  if (proof !== 'genesis') {
    ctx.gas.consume(GAS.SIG_RECOVER);
    let signer: Address;
    try {
      signer = attestationKeyProofSigner(ctx.block.chainId, operator, proof);
    } catch (err) {
      if (!(err instanceof InvalidSignatureError)) throw err;
      throw new ModuleError(`attestation key proof: bad signature: ${err.message}`);
    }
    requireThat(
      same(signer, key),
      `attestation key proof is signed by ${signer}, not by ${key} (for operator ${operator})`,
    );
  }
  const owner = await getAttestationKeyOwner(ctx, key);
  requireThat(
    owner === undefined || same(owner, operator),
    `attestation key ${key} is already used by another validator`,
  );
  const previous = await getAttestationKey(ctx, operator);
  requireThat(!same(previous, key), `${key} is already this validator's attestation key`);
  storeAttestationKey(ctx, operator, key);
  setAttestationKeyOwner(ctx, key, operator);
  // The old key may be in sets up to the current one (the new key joins at this block's end).
  if (!same(previous, ZERO_ADDRESS))
    setAttestationKeyRetiredAt(ctx, previous, await getAttestationSetId(ctx));
  stakingEvents.emit(ctx, 'attestationKey', { operator, key, previous });
}

/**
 * Staking's read-only view for other modules (distribution's and gov's StakingView, declared in
 * their expected.ts): the store's own readers plus the set that signed the parent block.
 */
export const stakingView = {
  getValidator: store.getValidator,
  getAttestationKey: store.getAttestationKey,
  getValidatorByConsensusAddress: store.getValidatorByConsensusAddress,
  getBondedValidators: store.getBondedValidators,
  getDelegation: store.getDelegation,
  getDelegatorValidators: store.getDelegatorValidators,
  totalBondedTokens: store.totalBondedTokens,
  tokensFromShares: store.tokensFromShares,
  previousValidatorSet: (state: KVReader) => readValidatorSet(state, 'previous'),
};
