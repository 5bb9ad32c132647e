// gov: proposals (text, parameter change of any module, community-pool spend, model fault) with deposits,
// stake-weighted voting with delegator inheritance, tally at the end of the voting period and
// execution of passed proposals.

import { exportStateSection, importModuleState } from '../../genesis.ts';
import { defineMsg, type Module, paramsFromJson, writeParams } from '../../module.ts';
import type { GovDeps } from './expected.ts';
import { handleDeposit, handleSubmitProposal, handleVote, processProposals } from './handlers.ts';
import { govInvariants } from './invariants.ts';
import { GovDeposit, GovSubmitProposal, GovVote } from './messages.ts';
import { govParams } from './params.ts';
import { govQueries } from './queries.ts';
import { M } from './store.ts';

/** Gov with what it needs from other modules (expected.ts), handed in by defaultModules. */
export function createGovModule(deps: GovDeps): Module {
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
    queries: govQueries(deps.staking),
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
