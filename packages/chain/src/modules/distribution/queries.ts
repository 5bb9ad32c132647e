import { t, toJson } from '@aivm/codec';
import { DEC } from '../../dec.ts';
import { defineQuery, type QueryDef, readParams } from '../../module.ts';
import type { StakingView } from './expected.ts';
import { pendingRewardsDec } from './f1.ts';
import { distributionParams } from './params.ts';
import { getCommissionDec, getCommunityPoolDec, getOutstandingDec } from './store.ts';

/** Dec-wei amounts are shown both as whole wei (what a withdrawal pays) and exactly. */
const amount = (dec: bigint) => ({ wei: (dec / DEC).toString(), decWei: dec.toString() });

export function distributionQueries(view: StakingView): Record<string, QueryDef> {
  return {
    pendingRewards: defineQuery({
      params: t.struct('DistPendingRewardsQuery', { delegator: t.address, validator: t.address }),
      description: 'Rewards a delegation can withdraw now, in wei (decWei: wei * 10^18, exact)',
      handler: async (state, p) => amount(await pendingRewardsDec(state, view, p.delegator, p.validator)),
    }),
    outstanding: defineQuery({
      params: t.struct('DistOutstandingQuery', { validator: t.address }),
      description: 'Rewards allocated to a validator and its delegators, not yet withdrawn',
      handler: async (state, p) => amount(await getOutstandingDec(state, p.validator)),
    }),
    commission: defineQuery({
      params: t.struct('DistCommissionQuery', { validator: t.address }),
      description: "Validator operator's accumulated commission",
      handler: async (state, p) => amount(await getCommissionDec(state, p.validator)),
    }),
    communityPool: defineQuery({
      params: t.struct('DistCommunityPoolQuery', {}),
      description: 'CGPT in the community pool (spent only by governance)',
      handler: async (state) => amount(await getCommunityPoolDec(state)),
    }),
    params: defineQuery({
      params: t.struct('DistParamsQuery', {}),
      description: 'Current distribution parameters',
      handler: async (state) =>
        toJson(distributionParams.schema, await readParams(state, 'distribution', distributionParams)),
    }),
  };
}
