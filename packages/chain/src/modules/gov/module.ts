// gov: proposals (text, parameter change of any module, community-pool spend, model fault) with deposits,
// stake-weighted voting with delegator inheritance, tally at the end of the voting period and
// execution of passed proposals.

import { exportStateSection, importModuleState } from '../../genesis.ts';
import { defineMsg, type Module, paramsFromJson, writeParams } from '../../module.ts';
import { type StakingView, stakingStoreView } from '../distribution/staking-view.ts';
import {
  type GovDeps,
  handleDeposit,
  handleSubmitProposal,
  handleVote,
  processProposals,
} from './handlers.ts';
import { govInvariants } from './invariants.ts';
import { GovDeposit, GovSubmitProposal, GovVote } from './messages.ts';
import { govParams } from './params.ts';
import { govQueries } from './queries.ts';
import { M } from './store.ts';

/**
 * `modules` returns the chain's module list (gov finds a parameter change's target and its
 * ParamsDef there); it is read lazily, so gov can be built before the list that contains it.
 */
export function createGovModule(
  modules: () => readonly Module[],
  staking: StakingView = stakingStoreView,
): Module {
  const deps: GovDeps = { modules, staking };
  return {
    name: M,
    messages: {
      'gov/submitProposal': defineMsg({
        schema: GovSubmitProposal,
        description:
          'Submit a proposal (text, paramChange, communityPoolSpend, modelFault) with an initial deposit',
        handler: (ctx, msg, sender) => handleSubmitProposal(ctx, deps, msg, sender),
      }),
      'gov/deposit': defineMsg({
        schema: GovDeposit,
        description: 'Add to the deposit of a proposal in its deposit or voting period',
        handler: handleDeposit,
      }),
      'gov/vote': defineMsg({
        schema: GovVote,
        description: 'Vote yes, no, abstain or veto on a proposal in its voting period',
        handler: (ctx, msg, sender) => handleVote(ctx, deps, msg, sender),
      }),
    },
    queries: govQueries(staking),
    params: govParams,
    async initGenesis(ctx, json) {
      const section = (json ?? {}) as { params?: unknown; state?: unknown };
      writeParams(ctx, 'gov', govParams, paramsFromJson(govParams, section.params));
      importModuleState(ctx, 'gov', section.state);
    },
    exportGenesis: (state) => exportStateSection(state, { name: M, params: govParams }),
    invariants: govInvariants,
    endBlock: (ctx) => processProposals(ctx, deps),
  };
}
