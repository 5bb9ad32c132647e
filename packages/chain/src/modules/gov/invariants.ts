// gov invariants: the gov account holds the deposits of every proposal still in its deposit or
// voting period, and each proposal's total is the sum of its deposit records.

import { decode } from '@aivm/codec';
import { utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import type { Invariant } from '../../module.ts';
import { holdsExactly } from '../bank/invariants.ts';
import { getBalance } from '../bank/store.ts';
import { GOV_ACCOUNT, type Proposal, ProposalSchema } from './store.ts';

const PROPOSALS = utf8ToBytes('gov/p/');

async function proposals(state: KVScanner): Promise<Proposal[]> {
  const out: Proposal[] = [];
  for await (const [, value] of state.scan(PROPOSALS)) out.push(decode(ProposalSchema, value) as Proposal);
  return out;
}

const holdsDeposits = (p: Proposal) => p.status === 'deposit' || p.status === 'voting';

/** Deposits gov escrows: those of proposals in their deposit or voting period. */
export async function govOwed(state: KVScanner): Promise<{ deposits: bigint; proposals: number }> {
  let deposits = 0n;
  let count = 0;
  for (const p of await proposals(state)) {
    if (!holdsDeposits(p)) continue;
    deposits += p.totalDepositWei;
    count++;
  }
  return { deposits, proposals: count };
}

export const govInvariants: Invariant[] = [
  {
    name: 'deposits-held',
    async check(state) {
      const owed = await govOwed(state);
      return holdsExactly(
        'the gov account',
        await getBalance(state, GOV_ACCOUNT),
        owed.deposits,
        `deposits of ${owed.proposals} proposals in their deposit or voting period`,
      );
    },
  },
  {
    name: 'deposit-records',
    async check(state) {
      const wrong: string[] = [];
      for (const p of await proposals(state)) {
        if (!holdsDeposits(p)) continue;
        let sum = 0n;
        for (const d of p.deposits) sum += d.amountWei;
        if (sum !== p.totalDepositWei)
          wrong.push(
            `proposal ${p.id} records a total deposit of ${p.totalDepositWei} wei but its deposits sum to ${sum} wei`,
          );
      }
      return wrong.length ? wrong.join('; ') : undefined;
    },
  },
];
