// distribution invariants: the module account backs every reward it still owes (kept in dec-wei,
// wei * DEC), and no validator's commission exceeds its outstanding rewards (which include it).

import { bytesToAddress, bytesToBigint, utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import { DEC } from '../../dec.ts';
import type { Invariant } from '../../module.ts';
import { getBalance } from '../bank/store.ts';
import { DISTRIBUTION_ACCOUNT, getCommunityPoolDec, getOutstandingDec } from './store.ts';

const OUTSTANDING = utf8ToBytes('distribution/out/');
const COMMISSION = utf8ToBytes('distribution/comm/');

/** What distribution owes, in dec-wei: every validator's outstanding rewards plus the community pool. */
export async function distributionOwedDec(
  state: KVScanner,
): Promise<{ outstandingDec: bigint; poolDec: bigint; validators: number }> {
  let outstandingDec = 0n;
  let validators = 0;
  for await (const [, value] of state.scan(OUTSTANDING)) {
    outstandingDec += bytesToBigint(value);
    validators++;
  }
  return { outstandingDec, poolDec: await getCommunityPoolDec(state), validators };
}

export const distributionInvariants: Invariant[] = [
  {
    name: 'rewards-backed',
    async check(state) {
      const holdsDec = (await getBalance(state, DISTRIBUTION_ACCOUNT)) * DEC;
      const { outstandingDec, poolDec, validators } = await distributionOwedDec(state);
      const owesDec = outstandingDec + poolDec;
      if (holdsDec >= owesDec) return undefined;
      return `the distribution account holds ${holdsDec} dec-wei but owes ${owesDec} dec-wei (outstanding rewards of ${validators} validators ${outstandingDec} + community pool ${poolDec}); short by ${owesDec - holdsDec} dec-wei (1 wei = 10^18 dec-wei)`;
    },
  },
  {
    name: 'commission-within-outstanding',
    async check(state) {
      const wrong: string[] = [];
      for await (const [key, value] of state.scan(COMMISSION)) {
        const operator = bytesToAddress(key.subarray(COMMISSION.length));
        const commission = bytesToBigint(value);
        const outstanding = await getOutstandingDec(state, operator);
        if (commission > outstanding)
          wrong.push(
            `validator ${operator} has commission ${commission} dec-wei above its outstanding rewards ${outstanding} dec-wei`,
          );
      }
      return wrong.length ? wrong.join('; ') : undefined;
    },
  },
];
