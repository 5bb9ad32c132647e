// Typed accessors over the staking key prefix "staking/". State cannot be iterated, so every set
// a module must walk (validators, a validator's delegators, a delegator's validators, pending
// unbondings) is an explicit, bounded list record.

import { decode, encode, type Infer, t } from '@aivm/codec';
import { type Address, addressToBytes, concatBytes, u64be, utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import type { ExecContext } from '../../module.ts';
import { MAX_BUCKET_ITEMS, MAX_VALIDATOR_RECORDS } from './params.ts';

/** The module's name: its key prefix, its events' module and its account seed. */
export const M = 'staking';

export type ValidatorStatus = 'bonded' | 'unbonding' | 'unbonded';
const STATUS: readonly ValidatorStatus[] = ['unbonded', 'unbonding', 'bonded'];

const ValidatorRecordSchema = t.struct('StakingValidator', {
  operator: t.address,
  consensusPubKey: t.bytes32,
  consensusAddress: t.address,
  moniker: t.string(64),
  tokens: t.uint256,
  delegatorShares: t.uint256,
  commissionRate: t.uint256,
  maxCommissionRate: t.uint256,
  maxCommissionChangeRate: t.uint256,
  commissionUpdatedMs: t.uint64,
  status: t.uint8,
  jailed: t.bool,
  /** Block time before which unjail is refused (downtime); meaningless when tombstoned. */
  jailedUntilMs: t.uint64,
  /** Double-signed: jailed forever. */
  tombstoned: t.bool,
  /** Height and block time at which the validator last left the active set. */
  unbondingHeight: t.uint64,
  unbondingCompletionMs: t.uint64,
});

/** A validator candidate. tokens in wei; shares in share units; rates DEC-scaled. */
export type ValidatorRecord = Omit<Infer<typeof ValidatorRecordSchema>, 'status'> & {
  status: ValidatorStatus;
};

export const UnbondingEntrySchema = t.struct('UnbondingEntry', {
  creationHeight: t.uint64,
  completionTimeMs: t.uint64,
  initialBalance: t.uint256,
  /** What the delegator receives at completion (initialBalance less slashes). */
  balance: t.uint256,
});
export type UnbondingEntry = Infer<typeof UnbondingEntrySchema>;
const UnbondingEntriesSchema = t.array(UnbondingEntrySchema, 32);

export const RedelegationEntrySchema = t.struct('RedelegationEntry', {
  creationHeight: t.uint64,
  completionTimeMs: t.uint64,
  initialBalance: t.uint256,
  /** Shares received at the destination (what a slash of the source unbonds there). */
  sharesDst: t.uint256,
});
export type RedelegationEntry = Infer<typeof RedelegationEntrySchema>;
const RedelegationEntriesSchema = t.array(RedelegationEntrySchema, 32);

const DelegationSchema = t.struct('Delegation', { shares: t.uint256 });
const AddressListSchema = t.array(t.address, 10_000);
const PairListSchema = t.array(t.struct('AddressPair', { a: t.address, b: t.address }), 10_000);

/** Maturity queue item: kind 0 unbonding (delegator, validator), 1 redelegation (delegator, src, dst), 2 validator. */
export const QueueItemSchema = t.struct('MaturityItem', {
  kind: t.uint8,
  delegator: t.address,
  validator: t.address,
  dst: t.address,
});
export type QueueItem = Infer<typeof QueueItemSchema>;
const QueueSchema = t.array(QueueItemSchema, MAX_BUCKET_ITEMS);
const BucketIndexSchema = t.array(t.uint64, 10_000);

const P = (s: string) => utf8ToBytes(`staking/${s}`);
const K = {
  validator: P('val/'),
  byConsensus: P('valcons/'),
  operators: P('operators'),
  delegation: P('del/'),
  delegatorValidators: P('delvals/'),
  delegatorsOf: P('valdels/'),
  unbonding: P('ubd/'),
  unbondingByValidator: P('ubdval/'),
  redelegation: P('red/'),
  redelegationsBySource: P('redsrc/'),
  redelegationsOfDelegator: P('reddel/'),
  bucket: P('queue/'),
  buckets: P('queue-index'),
};
const a = (x: Address) => addressToBytes(x);

// --- validators -------------------------------------------------------------------------------

export async function getValidator(state: KVReader, operator: Address): Promise<ValidatorRecord | undefined> {
  const raw = await state.get(concatBytes(K.validator, a(operator)));
  if (!raw) return undefined;
  const r = decode(ValidatorRecordSchema, raw);
  return { ...r, status: STATUS[r.status] ?? 'unbonded' };
}

export function setValidator(ctx: ExecContext, v: ValidatorRecord): void {
  ctx.set(
    concatBytes(K.validator, a(v.operator)),
    encode(ValidatorRecordSchema, { ...v, status: STATUS.indexOf(v.status) }),
  );
}

export async function getValidatorByConsensusAddress(
  state: KVReader,
  address: Address,
): Promise<ValidatorRecord | undefined> {
  const raw = await state.get(concatBytes(K.byConsensus, a(address)));
  return raw ? getValidator(state, decode(t.address, raw)) : undefined;
}

export function setConsensusIndex(ctx: ExecContext, consensusAddress: Address, operator: Address): void {
  ctx.set(concatBytes(K.byConsensus, a(consensusAddress)), encode(t.address, operator));
}

export async function getOperators(state: KVReader): Promise<Address[]> {
  const raw = await state.get(K.operators);
  return raw ? decode(AddressListSchema, raw) : [];
}

export function setOperators(ctx: ExecContext, operators: Address[]): void {
  ctx.set(K.operators, encode(AddressListSchema, operators));
}

/** Every validator record (at most MAX_VALIDATOR_RECORDS), in creation order. */
export async function listValidators(state: KVReader): Promise<ValidatorRecord[]> {
  const out: ValidatorRecord[] = [];
  for (const op of (await getOperators(state)).slice(0, MAX_VALIDATOR_RECORDS)) {
    const v = await getValidator(state, op);
    if (v) out.push(v);
  }
  return out;
}

/** Bonded validators, power descending then operator ascending. */
export async function getBondedValidators(state: KVReader): Promise<ValidatorRecord[]> {
  const bonded = (await listValidators(state)).filter((v) => v.status === 'bonded');
  return bonded.sort((x, y) =>
    x.tokens !== y.tokens
      ? x.tokens > y.tokens
        ? -1
        : 1
      : x.operator.toLowerCase() < y.operator.toLowerCase()
        ? -1
        : 1,
  );
}

export async function totalBondedTokens(state: KVReader): Promise<bigint> {
  let total = 0n;
  for (const v of await getBondedValidators(state)) total += v.tokens;
  return total;
}

/** Tokens (wei) that `shares` of the validator are worth now, rounded down. */
export function tokensFromShares(
  validator: Pick<ValidatorRecord, 'tokens' | 'delegatorShares'>,
  shares: bigint,
): bigint {
  if (validator.delegatorShares === 0n) return 0n;
  return (shares * validator.tokens) / validator.delegatorShares;
}

// --- delegations ------------------------------------------------------------------------------

const delKey = (delegator: Address, operator: Address) =>
  concatBytes(K.delegation, a(delegator), a(operator));

export async function getDelegation(
  state: KVReader,
  delegator: Address,
  operator: Address,
): Promise<{ shares: bigint } | undefined> {
  const raw = await state.get(delKey(delegator, operator));
  return raw ? decode(DelegationSchema, raw) : undefined;
}

export function setDelegation(ctx: ExecContext, delegator: Address, operator: Address, shares: bigint): void {
  if (shares === 0n) ctx.delete(delKey(delegator, operator));
  else ctx.set(delKey(delegator, operator), encode(DelegationSchema, { shares }));
}

async function readList(state: KVReader, key: Uint8Array): Promise<Address[]> {
  const raw = await state.get(key);
  return raw ? decode(AddressListSchema, raw) : [];
}

function writeList(ctx: ExecContext, key: Uint8Array, list: Address[]): void {
  if (list.length === 0) ctx.delete(key);
  else ctx.set(key, encode(AddressListSchema, list));
}

const same = (x: string, y: string) => x.toLowerCase() === y.toLowerCase();

/** Adds `item` to the list at `key` if missing; returns false when that would exceed `max`. */
export async function addToList(
  ctx: ExecContext,
  key: Uint8Array,
  item: Address,
  max: number,
): Promise<boolean> {
  const list = await readList(ctx, key);
  if (list.some((x) => same(x, item))) return true;
  if (list.length >= max) return false;
  list.push(item);
  writeList(ctx, key, list);
  return true;
}

export async function removeFromList(ctx: ExecContext, key: Uint8Array, item: Address): Promise<void> {
  const list = await readList(ctx, key);
  const next = list.filter((x) => !same(x, item));
  if (next.length !== list.length) writeList(ctx, key, next);
}

export const delegatorValidatorsKey = (delegator: Address) =>
  concatBytes(K.delegatorValidators, a(delegator));
export const delegatorsOfKey = (operator: Address) => concatBytes(K.delegatorsOf, a(operator));
export const unbondingByValidatorKey = (operator: Address) =>
  concatBytes(K.unbondingByValidator, a(operator));

/** Validators the account currently delegates to. */
export async function getDelegatorValidators(state: KVReader, delegator: Address): Promise<Address[]> {
  return readList(state, delegatorValidatorsKey(delegator));
}

/** Accounts with a delegation to the validator (at most maxDelegatorsPerValidator). */
export async function getDelegatorsOf(state: KVReader, operator: Address): Promise<Address[]> {
  return readList(state, delegatorsOfKey(operator));
}

// --- unbonding delegations and redelegations ---------------------------------------------------

const ubdKey = (delegator: Address, operator: Address) => concatBytes(K.unbonding, a(delegator), a(operator));

export async function getUnbondingEntries(
  state: KVReader,
  delegator: Address,
  operator: Address,
): Promise<UnbondingEntry[]> {
  const raw = await state.get(ubdKey(delegator, operator));
  return raw ? decode(UnbondingEntriesSchema, raw) : [];
}

export function setUnbondingEntries(
  ctx: ExecContext,
  delegator: Address,
  operator: Address,
  entries: UnbondingEntry[],
): void {
  if (entries.length === 0) ctx.delete(ubdKey(delegator, operator));
  else ctx.set(ubdKey(delegator, operator), encode(UnbondingEntriesSchema, entries));
}

/** Delegators with unbonding entries from the validator (what a slash walks). */
export async function getUnbondingDelegatorsOf(state: KVReader, operator: Address): Promise<Address[]> {
  return readList(state, unbondingByValidatorKey(operator));
}

const redKey = (delegator: Address, src: Address, dst: Address) =>
  concatBytes(K.redelegation, a(delegator), a(src), a(dst));

export async function getRedelegationEntries(
  state: KVReader,
  delegator: Address,
  src: Address,
  dst: Address,
): Promise<RedelegationEntry[]> {
  const raw = await state.get(redKey(delegator, src, dst));
  return raw ? decode(RedelegationEntriesSchema, raw) : [];
}

export function setRedelegationEntries(
  ctx: ExecContext,
  delegator: Address,
  src: Address,
  dst: Address,
  entries: RedelegationEntry[],
): void {
  if (entries.length === 0) ctx.delete(redKey(delegator, src, dst));
  else ctx.set(redKey(delegator, src, dst), encode(RedelegationEntriesSchema, entries));
}

type Pair = { a: Address; b: Address };

async function readPairs(state: KVReader, key: Uint8Array): Promise<Pair[]> {
  const raw = await state.get(key);
  return raw ? decode(PairListSchema, raw) : [];
}

function writePairs(ctx: ExecContext, key: Uint8Array, pairs: Pair[]): void {
  if (pairs.length === 0) ctx.delete(key);
  else ctx.set(key, encode(PairListSchema, pairs));
}

const pairsEqual = (x: Pair, y: Pair) => same(x.a, y.a) && same(x.b, y.b);

export async function addPair(ctx: ExecContext, key: Uint8Array, pair: Pair, max: number): Promise<boolean> {
  const list = await readPairs(ctx, key);
  if (list.some((p) => pairsEqual(p, pair))) return true;
  if (list.length >= max) return false;
  list.push(pair);
  writePairs(ctx, key, list);
  return true;
}

export async function removePair(ctx: ExecContext, key: Uint8Array, pair: Pair): Promise<void> {
  const list = await readPairs(ctx, key);
  const next = list.filter((p) => !pairsEqual(p, pair));
  if (next.length !== list.length) writePairs(ctx, key, next);
}

export const redelegationsBySourceKey = (src: Address) => concatBytes(K.redelegationsBySource, a(src));
export const redelegationsOfDelegatorKey = (delegator: Address) =>
  concatBytes(K.redelegationsOfDelegator, a(delegator));

/** (delegator, dst) of the redelegations away from `src` that have not matured. */
export async function getRedelegationsFrom(
  state: KVReader,
  src: Address,
): Promise<{ delegator: Address; dst: Address }[]> {
  return (await readPairs(state, redelegationsBySourceKey(src))).map((p) => ({ delegator: p.a, dst: p.b }));
}

/** (src, dst) of the delegator's redelegations that have not matured. */
export async function getRedelegationsOf(
  state: KVReader,
  delegator: Address,
): Promise<{ src: Address; dst: Address }[]> {
  return (await readPairs(state, redelegationsOfDelegatorKey(delegator))).map((p) => ({
    src: p.a,
    dst: p.b,
  }));
}

// --- maturity queue (bucketed by completion hour, since state cannot be scanned by time) -------

export async function getBucketIndex(state: KVReader): Promise<bigint[]> {
  const raw = await state.get(K.buckets);
  return raw ? decode(BucketIndexSchema, raw) : [];
}

export function setBucketIndex(ctx: ExecContext, index: bigint[]): void {
  if (index.length === 0) ctx.delete(K.buckets);
  else ctx.set(K.buckets, encode(BucketIndexSchema, index));
}

export async function getBucket(state: KVReader, bucket: bigint): Promise<QueueItem[]> {
  const raw = await state.get(concatBytes(K.bucket, u64be(bucket)));
  return raw ? decode(QueueSchema, raw) : [];
}

export function setBucket(ctx: ExecContext, bucket: bigint, items: QueueItem[]): void {
  const key = concatBytes(K.bucket, u64be(bucket));
  if (items.length === 0) ctx.delete(key);
  else ctx.set(key, encode(QueueSchema, items));
}

// --- attestation keys and the attestation set (docs/evm.md, attestation path) -------------------

/** A validator's attestation key, kept beside its record (zero address: none). */
const ATT_KEY = P('attkey/');
/** Attestation key -> the operator that registered it; never removed, so no key serves two validators. */
const ATT_KEY_OWNER = P('attkeyop/');
const ATT_KEY_RETIRED = P('attkeyret/');
const ATT_SET_CURRENT = P('attsetid');
const ATT_SET = P('attset/');
const ATT_SET_LOW = P('attsetlow');

export const ZERO_ADDRESS: Address = '0x0000000000000000000000000000000000000000';

export const AttestationSetSchema = t.struct('AttestationSet', {
  id: t.uint64,
  /** Height whose end block made this set (0 for the genesis set). */
  startHeight: t.uint64,
  members: t.array(t.struct('AttestationMember', { signer: t.address, power: t.uint64 }), 10_000),
});
export type AttestationSet = Infer<typeof AttestationSetSchema>;

export async function getAttestationKey(state: KVReader, operator: Address): Promise<Address> {
  const raw = await state.get(concatBytes(ATT_KEY, a(operator)));
  return raw ? decode(t.address, raw) : ZERO_ADDRESS;
}

export function setAttestationKey(ctx: ExecContext, operator: Address, key: Address): void {
  ctx.set(concatBytes(ATT_KEY, a(operator)), encode(t.address, key));
}

/** The operator that registered `key` as its attestation key (now or before), if any. */
export async function getAttestationKeyOwner(state: KVReader, key: Address): Promise<Address | undefined> {
  const raw = await state.get(concatBytes(ATT_KEY_OWNER, a(key)));
  return raw ? decode(t.address, raw) : undefined;
}

export function setAttestationKeyOwner(ctx: ExecContext, key: Address, operator: Address): void {
  ctx.set(concatBytes(ATT_KEY_OWNER, a(key)), encode(t.address, operator));
}

/** The last attestation set id a replaced key could be a member of (undefined: never replaced). */
export async function getAttestationKeyRetiredAt(state: KVReader, key: Address): Promise<bigint | undefined> {
  const raw = await state.get(concatBytes(ATT_KEY_RETIRED, a(key)));
  return raw ? decode(t.uint64, raw) : undefined;
}

export function setAttestationKeyRetiredAt(ctx: ExecContext, key: Address, setId: bigint): void {
  ctx.set(concatBytes(ATT_KEY_RETIRED, a(key)), encode(t.uint64, setId));
}

/**
 * The operator whose attestation key `key` is, or was within the kept attestation sets: its
 * signatures then count as that validator's (evidence). Undefined for any other address.
 */
export async function attestationKeyHolder(state: KVReader, key: Address): Promise<Address | undefined> {
  const owner = await getAttestationKeyOwner(state, key);
  if (!owner) return undefined;
  if ((await getAttestationKey(state, owner)).toLowerCase() === key.toLowerCase()) return owner;
  const retired = await getAttestationKeyRetiredAt(state, key);
  return retired !== undefined && retired >= (await getOldestAttestationSetId(state)) ? owner : undefined;
}

/** Id of the current attestation set (0 before genesis wrote the first). */
export async function getAttestationSetId(state: KVReader): Promise<bigint> {
  const raw = await state.get(ATT_SET_CURRENT);
  return raw ? decode(t.uint64, raw) : 0n;
}

export async function getAttestationSet(state: KVReader, id: bigint): Promise<AttestationSet | undefined> {
  const raw = await state.get(concatBytes(ATT_SET, u64be(id)));
  return raw ? decode(AttestationSetSchema, raw) : undefined;
}

export async function getCurrentAttestationSet(state: KVReader): Promise<AttestationSet | undefined> {
  const id = await getAttestationSetId(state);
  return id === 0n ? undefined : getAttestationSet(state, id);
}

/** Stores `set` as the current one. */
export function putAttestationSet(ctx: ExecContext, set: AttestationSet): void {
  ctx.set(concatBytes(ATT_SET, u64be(set.id)), encode(AttestationSetSchema, set));
  ctx.set(ATT_SET_CURRENT, encode(t.uint64, set.id));
}

export function deleteAttestationSet(ctx: ExecContext, id: bigint): void {
  ctx.delete(concatBytes(ATT_SET, u64be(id)));
}

/** The oldest attestation set id still kept (1 until the first one is pruned). */
export async function getOldestAttestationSetId(state: KVReader): Promise<bigint> {
  const raw = await state.get(ATT_SET_LOW);
  return raw ? decode(t.uint64, raw) : 1n;
}

export function setOldestAttestationSetId(ctx: ExecContext, id: bigint): void {
  ctx.set(ATT_SET_LOW, encode(t.uint64, id));
}
