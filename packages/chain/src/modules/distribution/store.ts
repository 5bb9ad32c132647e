// Typed accessors over the distribution key prefix "distribution/".
//
// Amounts of rewards are kept in "dec-wei" (wei * DEC) so that per-validator splits keep their
// fractions; only whole wei ever leave the module account, and the fractions stay accounted for.
// Invariant: balance(DISTRIBUTION_ACCOUNT) * DEC == sum(outstanding of every validator) + pool.

import { decode, encode, t } from '@aivm/codec';
import {
  type Address,
  addressToBytes,
  bigintToBytes,
  bytesToBigint,
  concatBytes,
  u64be,
  utf8ToBytes,
} from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { moduleAddress } from '../../accounts.ts';
import type { ExecContext } from '../../module.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'distribution';

/** Holds every undistributed reward and the community pool. */
export const DISTRIBUTION_ACCOUNT = moduleAddress('distribution');

const P = 'distribution/';
const POOL = utf8ToBytes(`${P}pool`);
const OUTSTANDING = utf8ToBytes(`${P}out/`);
const COMMISSION = utf8ToBytes(`${P}comm/`);
const CURRENT = utf8ToBytes(`${P}cur/`);
const HISTORICAL = utf8ToBytes(`${P}hist/`);
const STARTING = utf8ToBytes(`${P}start/`);

/** Rewards of the validator's open period, not yet folded into the cumulative ratio. */
export const CurrentRewardsSchema = t.struct('DistCurrentRewards', {
  period: t.uint64,
  rewardsDec: t.uint256,
});
export type CurrentRewards = { period: bigint; rewardsDec: bigint };

/**
 * State of a validator at the end of one period (F1). `ratio` is the cumulative reward per token,
 * each period's increment weighted by the slash factor in force during that period; `factor` is the
 * product of (1 - slash fraction) of every slash up to this period's end (DEC fixed point). A stake
 * s0 that started after period S then earns s0 * (ratio[E] - ratio[S]) / factor[S] by period E, and
 * slashes need no per-event iteration. `refs` counts who still needs the record (the validator's
 * open period and delegations that started here); at zero it is deleted.
 */
export const HistoricalSchema = t.struct('DistHistoricalRewards', {
  ratio: t.uint256,
  factor: t.uint256,
  refs: t.uint32,
});
export type Historical = { ratio: bigint; factor: bigint; refs: number };

export const StartingInfoSchema = t.struct('DistStartingInfo', {
  previousPeriod: t.uint64,
  stake: t.uint256,
  height: t.uint64,
});
export type StartingInfo = { previousPeriod: bigint; stake: bigint; height: bigint };

const valKey = (prefix: Uint8Array, v: Address) => concatBytes(prefix, addressToBytes(v));

async function getUint(state: KVReader, key: Uint8Array): Promise<bigint> {
  const raw = await state.get(key);
  return raw ? bytesToBigint(raw) : 0n;
}

function setUint(ctx: ExecContext, key: Uint8Array, value: bigint): void {
  // A negative balance would mean the accounting paid out more than it holds: a bug, never user input.
  if (value < 0n) throw new Error('distribution: negative amount in accounting');
  if (value === 0n) ctx.delete(key);
  else ctx.set(key, bigintToBytes(value));
}

export const getCommunityPoolDec = (s: KVReader) => getUint(s, POOL);
export const setCommunityPoolDec = (ctx: ExecContext, v: bigint) => setUint(ctx, POOL, v);
export const getOutstandingDec = (s: KVReader, v: Address) => getUint(s, valKey(OUTSTANDING, v));
export const setOutstandingDec = (ctx: ExecContext, v: Address, x: bigint) =>
  setUint(ctx, valKey(OUTSTANDING, v), x);
export const getCommissionDec = (s: KVReader, v: Address) => getUint(s, valKey(COMMISSION, v));
export const setCommissionDec = (ctx: ExecContext, v: Address, x: bigint) =>
  setUint(ctx, valKey(COMMISSION, v), x);

export async function getCurrentRewards(state: KVReader, v: Address): Promise<CurrentRewards | undefined> {
  const raw = await state.get(valKey(CURRENT, v));
  return raw ? decode(CurrentRewardsSchema, raw) : undefined;
}

export function setCurrentRewards(ctx: ExecContext, v: Address, c: CurrentRewards): void {
  ctx.set(valKey(CURRENT, v), encode(CurrentRewardsSchema, c));
}

function historicalKey(v: Address, period: bigint): Uint8Array {
  return concatBytes(HISTORICAL, addressToBytes(v), u64be(period));
}

export async function getHistorical(
  state: KVReader,
  v: Address,
  period: bigint,
): Promise<Historical | undefined> {
  const raw = await state.get(historicalKey(v, period));
  return raw ? decode(HistoricalSchema, raw) : undefined;
}

export function setHistorical(ctx: ExecContext, v: Address, period: bigint, h: Historical): void {
  if (h.refs === 0) ctx.delete(historicalKey(v, period));
  else ctx.set(historicalKey(v, period), encode(HistoricalSchema, h));
}

function startingKey(v: Address, delegator: Address): Uint8Array {
  return concatBytes(STARTING, addressToBytes(v), addressToBytes(delegator));
}

export async function getStartingInfo(
  state: KVReader,
  v: Address,
  delegator: Address,
): Promise<StartingInfo | undefined> {
  const raw = await state.get(startingKey(v, delegator));
  return raw ? decode(StartingInfoSchema, raw) : undefined;
}

export function setStartingInfo(ctx: ExecContext, v: Address, delegator: Address, s: StartingInfo): void {
  ctx.set(startingKey(v, delegator), encode(StartingInfoSchema, s));
}

export function deleteStartingInfo(ctx: ExecContext, v: Address, delegator: Address): void {
  ctx.delete(startingKey(v, delegator));
}
