// Tally of a proposal by bonded stake, Cosmos style: a delegator's vote counts with the tokens of
// its delegations to bonded validators; a validator's vote counts with its remaining tokens, i.e.
// those of delegators that did not vote themselves (they inherit their validator's vote).

import type { KVReader } from '@aivm/state';
import { DEC } from '../../dec.ts';
import type { GovStaking, GovValidator } from './expected.ts';
import { VOTE_OPTIONS } from './messages.ts';
import type { GovParams } from './params.ts';
import { getVote, getVoters, type Tally } from './store.ts';

export type TallyOutcome = { tally: Tally; result: 'passed' | 'rejected' | 'vetoed'; reason: string };

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export async function tallyVotes(state: KVReader, view: GovStaking, id: bigint): Promise<Tally> {
  const totals = [0n, 0n, 0n, 0n];
  const bonded: { v: GovValidator; deducted: bigint; vote?: number }[] = (
    await view.getBondedValidators(state)
  ).map((v) => ({ v, deducted: 0n }));
  for (const voter of await getVoters(state, id)) {
    const option = await getVote(state, id, voter);
    if (option === undefined) continue;
    const own = bonded.find((b) => same(b.v.operator, voter));
    if (own) own.vote = option;
    for (const operator of await view.getDelegatorValidators(state, voter)) {
      const b = bonded.find((x) => same(x.v.operator, operator));
      if (!b) continue; // stake with unbonded validators does not vote
      const delegation = await view.getDelegation(state, voter, operator);
      if (!delegation) continue;
      b.deducted += delegation.shares;
      totals[option]! += view.tokensFromShares(b.v, delegation.shares);
    }
  }
  for (const b of bonded) {
    if (b.vote === undefined) continue;
    const shares = b.v.delegatorShares - b.deducted;
    if (shares > 0n) totals[b.vote]! += view.tokensFromShares(b.v, shares);
  }
  const [yes, no, abstain, veto] = totals as [bigint, bigint, bigint, bigint];
  return { yes, no, abstain, veto };
}

/** Applies quorum, veto and threshold, comparing by cross-multiplication (no rounding). */
export function decide(tally: Tally, totalBonded: bigint, params: GovParams): TallyOutcome {
  const voted = tally.yes + tally.no + tally.abstain + tally.veto;
  if (totalBonded === 0n || voted * DEC < params.quorum * totalBonded) {
    return { tally, result: 'rejected', reason: 'quorum not reached' };
  }
  if (tally.veto * DEC > params.vetoThreshold * voted) {
    return { tally, result: 'vetoed', reason: 'vetoed' };
  }
  const decisive = tally.yes + tally.no + tally.veto;
  if (decisive === 0n) return { tally, result: 'rejected', reason: 'only abstentions' };
  if (tally.yes * DEC > params.threshold * decisive) return { tally, result: 'passed', reason: '' };
  return { tally, result: 'rejected', reason: 'threshold not reached' };
}

export function optionIndex(option: string): number {
  return (VOTE_OPTIONS as readonly string[]).indexOf(option);
}
