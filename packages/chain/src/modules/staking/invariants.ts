// staking invariants: each pool holds the stake it stands for, and a validator's shares are the
// sum of its delegations' shares.

import { type Address, bytesToAddress, utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import { BONDED_POOL, NOT_BONDED_POOL } from '../../accounts.ts';
import type { Invariant } from '../../module.ts';
import { holdsExactly } from '../bank/invariants.ts';
import { getBalance } from '../bank/store.ts';
import { getDelegation, getUnbondingEntries, getValidator, type ValidatorRecord } from './store.ts';

const VALIDATORS = utf8ToBytes('staking/val/');
const DELEGATIONS = utf8ToBytes('staking/del/');
const UNBONDINGS = utf8ToBytes('staking/ubd/');

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
];
