// inference invariants: the inference account holds the escrow of every request not yet finalized
// or failed (its max fee less what was already paid out), every provider's bonded and unbonding
// stake, and the bonds of open disputes.

import { decode } from '@aivm/codec';
import { utf8ToBytes } from '@aivm/crypto';
import type { KVScanner } from '@aivm/state';
import type { Invariant } from '../../module.ts';
import { holdsExactly } from '../bank/invariants.ts';
import { getBalance } from '../bank/store.ts';
import { isTerminal } from './lifecycle.ts';
import { DisputeSchema, INFERENCE_ACCOUNT, ProviderSchema, type Request, RequestSchema } from './store.ts';

const REQUESTS = utf8ToBytes('inference/req/');
const PROVIDERS = utf8ToBytes('inference/prov/');
const DISPUTES = utf8ToBytes('inference/disp/');

/** What the inference account owes, by kind. */
export async function inferenceOwed(state: KVScanner): Promise<{
  escrow: bigint;
  openRequests: number;
  providerStake: bigint;
  providers: number;
  bonds: bigint;
  disputes: number;
}> {
  let escrow = 0n;
  let openRequests = 0;
  for await (const [, value] of state.scan(REQUESTS)) {
    const r = decode(RequestSchema, value) as Request;
    if (isTerminal(r)) continue;
    const f = r.fees;
    escrow += r.maxFeeWei - f.ownerWei - f.providerWei - f.reviewersWei - f.protocolWei;
    openRequests++;
  }
  let providerStake = 0n;
  let providers = 0;
  for await (const [, value] of state.scan(PROVIDERS)) {
    const p = decode(ProviderSchema, value);
    providerStake += p.stakeWei;
    for (const u of p.unbonding) providerStake += u.amountWei;
    providers++;
  }
  let bonds = 0n;
  let disputes = 0;
  for await (const [, value] of state.scan(DISPUTES)) {
    bonds += decode(DisputeSchema, value).bondWei;
    disputes++;
  }
  return { escrow, openRequests, providerStake, providers, bonds, disputes };
}

export const inferenceInvariants: Invariant[] = [
  {
    name: 'account-balance',
    async check(state) {
      const o = await inferenceOwed(state);
      return holdsExactly(
        'the inference account',
        await getBalance(state, INFERENCE_ACCOUNT),
        o.escrow + o.providerStake + o.bonds,
        `escrow of ${o.openRequests} open requests ${o.escrow} + stake of ${o.providers} providers ${o.providerStake} + bonds of ${o.disputes} disputes ${o.bonds}`,
      );
    },
  },
  {
    name: 'escrow-covers-fees',
    async check(state) {
      const wrong: string[] = [];
      for await (const [, value] of state.scan(REQUESTS)) {
        const r = decode(RequestSchema, value) as Request;
        const f = r.fees;
        const paid = f.ownerWei + f.providerWei + f.reviewersWei + f.protocolWei + f.refundWei;
        if (paid > r.maxFeeWei)
          wrong.push(`request ${r.id} paid out ${paid} wei from an escrow of ${r.maxFeeWei} wei`);
      }
      return wrong.length ? wrong.join('; ') : undefined;
    },
  },
];
