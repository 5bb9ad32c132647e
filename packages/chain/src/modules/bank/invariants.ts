// bank invariants: the recorded supply is exactly the sum of every balance (module accounts included).

import { bytesToBigint, utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import type { Invariant } from '../../module.ts';
import { getSupply } from './store.ts';

const BALANCES = utf8ToBytes('bank/bal/');

/** Sum of every stored balance and how many there are. */
export async function sumBalances(state: KVScanner): Promise<{ total: bigint; accounts: number }> {
  let total = 0n;
  let accounts = 0;
  for await (const [, value] of state.scan(BALANCES)) {
    total += bytesToBigint(value);
    accounts++;
  }
  return { total, accounts };
}

/**
 * "holds X, owes Y" check of a module account that may keep rounding dust (distribution, models):
 * undefined when it holds at least what it owes; only a shortfall is broken.
 */
export function backed(what: string, holds: bigint, owes: bigint, detail: string): string | undefined {
  if (holds >= owes) return undefined;
  return `${what} holds ${holds} wei but owes ${owes} wei (${detail}); short by ${owes - holds} wei`;
}

/**
 * "holds X, owes Y" check of a module account that keeps no dust: only its module pays into it
 * (bank refuses transfers to MODULE_ACCOUNTS), so it holds exactly what it owes.
 */
export function holdsExactly(what: string, holds: bigint, owes: bigint, detail: string): string | undefined {
  if (holds <= owes) return backed(what, holds, owes, detail);
  return `${what} holds ${holds} wei but owes ${owes} wei (${detail}); ${holds - owes} wei more than it owes`;
}

export const bankInvariants: Invariant[] = [
  {
    name: 'supply',
    async check(state) {
      const supply = await getSupply(state);
      const { total, accounts } = await sumBalances(state);
      if (supply === total) return undefined;
      return `supply is ${supply} wei but the ${accounts} balances sum to ${total} wei (difference ${total - supply})`;
    },
  },
];
