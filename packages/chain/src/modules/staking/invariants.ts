// staking invariants: each pool holds the stake it stands for, a validator's shares are the sum of
// its delegations' shares, and the attestation set is the active set with its attestation keys.

import { type Address, bytesToAddress, readU64be, utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import { BONDED_POOL, NOT_BONDED_POOL } from '../../accounts.ts';
import type { Invariant } from '../../module.ts';
import { readValidatorSet } from '../../validators.ts';
import { holdsExactly } from '../bank/invariants.ts';
import { getBalance } from '../bank/store.ts';
import {
  getAttestationKey,
  getAttestationKeyOwner,
  getAttestationSetId,
  getCurrentAttestationSet,
  getDelegation,
  getOldestAttestationSetId,
  getUnbondingEntries,
  getValidator,
  getValidatorByConsensusAddress,
  type ValidatorRecord,
  ZERO_ADDRESS,
} from './store.ts';

const VALIDATORS = utf8ToBytes('staking/val/');
const DELEGATIONS = utf8ToBytes('staking/del/');
const UNBONDINGS = utf8ToBytes('staking/ubd/');
const ATTESTATION_SETS = utf8ToBytes('staking/attset/');
const same = (x: string, y: string) => x.toLowerCase() === y.toLowerCase();

const address = (key: Uint8Array, at: number): Address => bytesToAddress(key.subarray(at, at + 20));

async function validators(state: KVScanner): Promise<ValidatorRecord[]> {
  const out: ValidatorRecord[] = [];
  for await (const [key] of state.scan(VALIDATORS)) {
    const v = await getValidator(state, address(key, VALIDATORS.length));
    if (v) out.push(v);
  }
  return out;
}

/** What each staking pool must hold: tokens of bonded validators; tokens of the others plus unbonding entries. */
export async function stakingOwed(
  state: KVScanner,
): Promise<{ bonded: bigint; notBondedValidators: bigint; unbonding: bigint; entries: number }> {
  let bonded = 0n;
  let notBondedValidators = 0n;
  for (const v of await validators(state)) {
    if (v.status === 'bonded') bonded += v.tokens;
    else notBondedValidators += v.tokens;
  }
  let unbonding = 0n;
  let entries = 0;
  for await (const [key] of state.scan(UNBONDINGS)) {
    const at = UNBONDINGS.length;
    for (const e of await getUnbondingEntries(state, address(key, at), address(key, at + 20))) {
      unbonding += e.balance;
      entries++;
    }
  }
  return { bonded, notBondedValidators, unbonding, entries };
}

export const stakingInvariants: Invariant[] = [
  {
    name: 'bonded-pool',
    async check(state) {
      const owed = await stakingOwed(state);
      return holdsExactly(
        'the bonded pool',
        await getBalance(state, BONDED_POOL),
        owed.bonded,
        'tokens of bonded validators',
      );
    },
  },
  {
    name: 'not-bonded-pool',
    async check(state) {
      const owed = await stakingOwed(state);
      return holdsExactly(
        'the not-bonded pool',
        await getBalance(state, NOT_BONDED_POOL),
        owed.notBondedValidators + owed.unbonding,
        `${owed.notBondedValidators} of unbonding/unbonded validators' tokens + ${owed.unbonding} in ${owed.entries} unbonding entries`,
      );
    },
  },
  {
    name: 'delegator-shares',
    async check(state) {
      const sums = new Map<string, bigint>();
      for await (const [key] of state.scan(DELEGATIONS)) {
        const at = DELEGATIONS.length;
        const delegator = address(key, at);
        const operator = address(key, at + 20);
        const d = await getDelegation(state, delegator, operator);
        const k = operator.toLowerCase();
        sums.set(k, (sums.get(k) ?? 0n) + (d?.shares ?? 0n));
      }
      const wrong: string[] = [];
      for (const v of await validators(state)) {
        const sum = sums.get(v.operator.toLowerCase()) ?? 0n;
        sums.delete(v.operator.toLowerCase());
        if (sum !== v.delegatorShares)
          wrong.push(
            `validator ${v.operator} has ${v.delegatorShares} shares but its delegations sum to ${sum}`,
          );
      }
      for (const [operator, sum] of sums)
        wrong.push(`delegations of ${sum} shares to unknown validator ${operator}`);
      return wrong.length ? wrong.join('; ') : undefined;
    },
  },
  {
    name: 'attestation-set',
    async check(state) {
      const wrong: string[] = [];
      const set = await getCurrentAttestationSet(state);
      const consensus = await readValidatorSet(state, 'current');
      if (!set) return consensus.length > 0 ? 'no attestation set while a validator set exists' : undefined;
      // The consensus set of the next height is the active set the attestation set was made from.
      if (set.members.length !== consensus.length)
        wrong.push(
          `attestation set ${set.id} has ${set.members.length} members, the validator set ${consensus.length}`,
        );
      for (const [i, m] of set.members.entries()) {
        const c = consensus[i];
        if (!c) break;
        if (m.power !== c.power) wrong.push(`member ${i}: power ${m.power}, validator set ${c.power}`);
        const v = await getValidatorByConsensusAddress(state, c.address);
        const key = v ? await getAttestationKey(state, v.operator) : undefined;
        if (!v || key === undefined || !same(key, m.signer))
          wrong.push(`member ${i}: signer ${m.signer}, validator ${c.address} has attestation key ${key}`);
        else if (!same(key, ZERO_ADDRESS)) {
          const owner = await getAttestationKeyOwner(state, key);
          if (!owner || !same(owner, v.operator))
            wrong.push(`attestation key ${key} of ${v.operator} is indexed to ${owner}`);
        }
      }
      // Kept sets are the ids oldest..current, every one of them there (at most attestationSetsKept
      // of them, unless governance just shrank the window: caught up 64 sets at a time).
      const current = await getAttestationSetId(state);
      const oldest = await getOldestAttestationSetId(state);
      let count = 0n;
      for await (const [key] of state.scan(ATTESTATION_SETS)) {
        const id = readU64be(key, ATTESTATION_SETS.length);
        count++;
        if (id > current || id < oldest)
          wrong.push(`attestation set ${id} is kept outside ${oldest}..${current}`);
      }
      if (count !== current - oldest + 1n)
        wrong.push(`${count} attestation sets kept, ids ${oldest}..${current} should be there`);
      return wrong.length ? wrong.join('; ') : undefined;
    },
  },
];
