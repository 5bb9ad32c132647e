// The validator set in chain state (prefix "chain/"): the set that signs the current height, the
// set of the previous height (whose commit the next block carries) and, when staking changed it
// during the block, the next set. BlockExecution.finish() rotates them once per block.

import { decode, encode, t } from '@aivm/codec';
import { advancePriorities, carryPriorities } from '@aivm/consensus/proposer';
import { ed25519Verify, equalBytes, utf8ToBytes } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { validatorAddress } from './accounts.ts';
import { commitSignBytes, MAX_VALIDATORS, type Validator, validatorSetHash } from './block.ts';
import { InvalidBlock, ModuleError } from './errors.ts';
import type { ExecContext } from './module.ts';

const KEYS = {
  current: utf8ToBytes('chain/valset/current'),
  previous: utf8ToBytes('chain/valset/previous'),
  next: utf8ToBytes('chain/valset/next'),
} as const;

/** Stored form: the priority is signed, the codec has unsigned integers only, so sign + magnitude. */
const StoredSetSchema = t.array(
  t.struct('StoredValidator', {
    address: t.address,
    pubKey: t.bytes32,
    power: t.uint64,
    priorityNegative: t.bool,
    priorityAbs: t.uint128,
  }),
  MAX_VALIDATORS,
);

/** A validator set member with its proposer priority always present. */
export type SetMember = Validator & { priority: bigint };

function encodeSet(set: readonly Validator[]): Uint8Array {
  return encode(
    StoredSetSchema,
    set.map((v) => {
      const p = v.priority ?? 0n;
      return {
        address: v.address,
        pubKey: v.pubKey,
        power: v.power,
        priorityNegative: p < 0n,
        priorityAbs: p < 0n ? -p : p,
      };
    }),
  );
}

function decodeSet(raw: Uint8Array): SetMember[] {
  return decode(StoredSetSchema, raw).map((v) => ({
    address: v.address,
    pubKey: v.pubKey,
    power: v.power,
    priority: v.priorityNegative ? -v.priorityAbs : v.priorityAbs,
  }));
}

/** Canonical order of a set: power descending, then address ascending. */
export function compareValidators(a: Validator, b: Validator): number {
  if (a.power !== b.power) return a.power > b.power ? -1 : 1;
  const x = a.address.toLowerCase();
  const y = b.address.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Checks a set (non-empty, bounded, positive powers, address = key's address, no duplicates) and sorts it. */
export function canonicalValidatorSet<T extends Validator>(set: readonly T[]): T[] {
  if (set.length === 0) throw new ModuleError('validator set must not be empty');
  if (set.length > MAX_VALIDATORS) throw new ModuleError(`validator set exceeds ${MAX_VALIDATORS} members`);
  const seen = new Set<string>();
  for (const v of set) {
    if (v.power <= 0n) throw new ModuleError(`validator ${v.address} has non-positive power`);
    if (v.power >= 2n ** 64n) throw new ModuleError(`validator ${v.address} power exceeds uint64`);
    if (v.pubKey.length !== 32) throw new ModuleError(`validator ${v.address} key must be 32 bytes`);
    if (validatorAddress(v.pubKey).toLowerCase() !== v.address.toLowerCase())
      throw new ModuleError(`validator ${v.address} does not match its public key`);
    const k = v.address.toLowerCase();
    if (seen.has(k)) throw new ModuleError(`validator ${v.address} listed twice`);
    seen.add(k);
  }
  return [...set].sort(compareValidators);
}

/** The set that signs the current height ('current') or signed the parent ('previous'). */
export async function readValidatorSet(state: KVReader, which: 'current' | 'previous'): Promise<SetMember[]> {
  const raw = await state.get(KEYS[which]);
  return raw ? decodeSet(raw) : [];
}

/** The set staking asked for during this block, if any (applied by the rotation at finish). */
export async function readNextValidatorSet(state: KVReader): Promise<SetMember[] | undefined> {
  const raw = await state.get(KEYS.next);
  return raw ? decodeSet(raw) : undefined;
}

/** Sets the validator set of the next height (staking's endBlock, genesis). Priorities are ignored. */
export function setNextValidatorSet(ctx: ExecContext, set: readonly Validator[]): void {
  const sorted = canonicalValidatorSet(set).map((v) => ({ ...v, priority: 0n }));
  ctx.set(KEYS.next, encodeSet(sorted));
}

/** Writes `set` as both current and previous: the state genesis starts from. */
export function writeGenesisValidatorSet(ctx: ExecContext, set: readonly Validator[]): SetMember[] {
  const sorted = canonicalValidatorSet(set).map((v) => ({ ...v, priority: 0n }));
  ctx.set(KEYS.current, encodeSet(sorted));
  ctx.set(KEYS.previous, encodeSet(sorted));
  ctx.delete(KEYS.next);
  return sorted;
}

function sameMembers(a: readonly Validator[], b: readonly Validator[]): boolean {
  return equalBytes(validatorSetHash(a), validatorSetHash(b));
}

/**
 * End of block: previous := this block's set, current := the next set if staking set one (members
 * that stay keep their priority, new ones join behind) else unchanged, then one proposer step.
 * Returns the set of the next height.
 */
export async function rotateValidatorSets(ctx: ExecContext): Promise<SetMember[]> {
  const current = await readValidatorSet(ctx, 'current');
  if (current.length === 0) throw new ModuleError('no validator set in state');
  const next = await readNextValidatorSet(ctx);
  let upcoming: SetMember[] = current;
  if (next) {
    ctx.delete(KEYS.next);
    if (!sameMembers(next, current)) upcoming = carryPriorities(current, next);
  }
  const advanced = advancePriorities(upcoming).set;
  ctx.set(KEYS.previous, encodeSet(current));
  ctx.set(KEYS.current, encodeSet(advanced));
  return advanced;
}

/**
 * Checks a commit: every signer a member of `set`, none twice, each ed25519 signature valid over
 * commitSignBytes(chainId, height, round, blockHash), and the signers' power > 2/3 of the set's.
 * Used by block execution (the parent's commit in each block) and by block sync.
 */
export function verifyCommit(
  set: readonly Validator[],
  chainId: bigint,
  height: bigint,
  round: number,
  blockHash: Uint8Array,
  signatures: readonly { validator: string; signature: Uint8Array }[],
): void {
  if (set.length === 0) throw new InvalidBlock(`commit of height ${height}: no validator set to check it`);
  const members = new Map(set.map((v) => [v.address.toLowerCase(), v]));
  let total = 0n;
  for (const v of set) total += v.power;
  const bytes = commitSignBytes(chainId, height, round, blockHash);
  const seen = new Set<string>();
  let signed = 0n;
  for (const [i, s] of signatures.entries()) {
    const key = s.validator.toLowerCase();
    const member = members.get(key);
    if (!member)
      throw new InvalidBlock(
        `commit of height ${height}: signer ${i} (${s.validator}) is not in the validator set`,
      );
    if (seen.has(key)) throw new InvalidBlock(`commit of height ${height}: ${s.validator} signed twice`);
    seen.add(key);
    if (!ed25519Verify(s.signature, bytes, member.pubKey))
      throw new InvalidBlock(
        `commit of height ${height}: bad signature of ${s.validator} for round ${round} and this block hash`,
      );
    signed += member.power;
  }
  if (signed * 3n <= total * 2n)
    throw new InvalidBlock(
      `commit of height ${height}: signers hold ${signed} of ${total} power, need > 2/3`,
    );
}
