// distribution: block rewards (fees + emission) split among the validators that signed, commission
// to operators, the rest to delegators through F1 lazy accounting, and a community pool.

import { exportStateSection, importModuleState } from '../../genesis.ts';
import { defineMsg, type Module, paramsFromJson, writeParams } from '../../module.ts';
import { stakingView } from '../staking/keeper.ts';
import type { StakingView } from './expected.ts';
import { allocateBlockRewards } from './f1.ts';
import { handleWithdrawCommission, handleWithdrawRewards } from './handlers.ts';
import { createDistributionHooks, type DistributionHooks } from './hooks.ts';
import { distributionInvariants } from './invariants.ts';
import { DistributionWithdrawCommission, DistributionWithdrawRewards } from './messages.ts';
import { distributionParams } from './params.ts';
import { distributionQueries } from './queries.ts';
import { M } from './store.ts';

export function createDistributionModule(view: StakingView): Module {
  return {
    name: M,
    messages: {
      'distribution/withdrawRewards': defineMsg({
        schema: DistributionWithdrawRewards,
        description: "Withdraw the sender's rewards from its delegation to one validator",
        handler: (ctx, msg, sender) => handleWithdrawRewards(ctx, view, msg, sender),
      }),
      'distribution/withdrawCommission': defineMsg({
        schema: DistributionWithdrawCommission,
        description: "Withdraw the sender's accumulated validator commission",
        handler: (ctx, _msg, sender) => handleWithdrawCommission(ctx, sender),
      }),
    },
    queries: distributionQueries(view),
    params: distributionParams,
    async initGenesis(ctx, json) {
      const section = (json ?? {}) as { params?: unknown; state?: unknown };
      writeParams(
        ctx,
        'distribution',
        distributionParams,
        paramsFromJson(distributionParams, section.params),
      );
      importModuleState(ctx, 'distribution', section.state);
    },
    exportGenesis: (state) => exportStateSection(state, { name: M, params: distributionParams }),
    invariants: distributionInvariants,
    // Rewards of block H are allocated at the start of H+1, when its commit (who signed) is known.
    beginBlock: (ctx) => allocateBlockRewards(ctx, view),
  };
}

/** Wired to the real staking store; pass these to defaultModules and createStakingModule. */
export const distributionModule: Module = createDistributionModule(stakingView);
export const distributionHooks: DistributionHooks = createDistributionHooks(stakingView);
