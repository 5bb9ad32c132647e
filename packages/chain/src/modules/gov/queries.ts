import { t, toJson } from '@aivm/codec';
import { ModuleError } from '../../errors.ts';
import { defineQuery, type QueryDef, readParams } from '../../module.ts';
import type { GovStaking } from './expected.ts';
import { VOTE_OPTIONS } from './messages.ts';
import { govParams } from './params.ts';
import { getActiveIds, getProposal, getVote, getVoters, ProposalSchema, TallySchema } from './store.ts';
import { tallyVotes } from './tally.ts';

const IdQuery = (name: string) => t.struct(name, { id: t.uint64 });

export function govQueries(view: GovStaking): Record<string, QueryDef> {
  return {
    proposal: defineQuery({
      params: IdQuery('GovProposalQuery'),
      description: 'A proposal with its deposits, status and final tally',
      handler: async (state, p) => {
        const proposal = await getProposal(state, p.id);
        if (!proposal) throw new ModuleError(`proposal ${p.id} does not exist`);
        return toJson(ProposalSchema, proposal);
      },
    }),
    activeProposals: defineQuery({
      params: t.struct('GovActiveQuery', {}),
      description: 'Ids of proposals in their deposit or voting period',
      handler: async (state) => ({ ids: (await getActiveIds(state)).map(String) }),
    }),
    votes: defineQuery({
      params: IdQuery('GovVotesQuery'),
      description: 'Votes cast on a proposal in its voting period (removed once tallied)',
      handler: async (state, p) => {
        const out: { voter: string; option: string }[] = [];
        for (const voter of await getVoters(state, p.id)) {
          const option = await getVote(state, p.id, voter);
          if (option !== undefined) out.push({ voter, option: VOTE_OPTIONS[option]! });
        }
        return out;
      },
    }),
    tally: defineQuery({
      params: IdQuery('GovTallyQuery'),
      description: 'Tally in wei of bonded stake: live during voting, final afterwards',
      handler: async (state, p) => {
        const proposal = await getProposal(state, p.id);
        if (!proposal) throw new ModuleError(`proposal ${p.id} does not exist`);
        const tally =
          proposal.status === 'voting' ? await tallyVotes(state, view, p.id) : proposal.finalTally;
        return toJson(TallySchema, tally);
      },
    }),
    params: defineQuery({
      params: t.struct('GovParamsQuery', {}),
      description: 'Current governance parameters',
      handler: async (state) => toJson(govParams.schema, await readParams(state, 'gov', govParams)),
    }),
  };
}
