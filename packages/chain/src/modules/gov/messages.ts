import { t } from '@aivm/codec';

/**
 * One flat schema for every kind, so it encodes and signs (EIP-712) like any other message; the
 * fields a kind does not use must be empty:
 * - text: title and description only;
 * - paramChange: paramModule and paramsJson (a JSON object of the fields to change, e.g.
 *   {"maxMultiSendOutputs":200}; unnamed fields keep their value at execution time);
 * - communityPoolSpend: recipient and amountWei;
 * - modelFault: modelId (the model shown faulty: status faulty, its reviewers slashed).
 */
export const GovSubmitProposal = t.struct('GovSubmitProposal', {
  kind: t.string(32),
  title: t.string(140),
  description: t.string(10_000),
  paramModule: t.string(64),
  paramsJson: t.string(4_096),
  recipient: t.address,
  amountWei: t.uint256,
  modelId: t.string(128),
  initialDepositWei: t.uint256,
});

export const GovDeposit = t.struct('GovDeposit', { proposalId: t.uint64, amountWei: t.uint256 });

/** option: "yes" | "no" | "abstain" | "veto". Voting again replaces the earlier vote. */
export const GovVote = t.struct('GovVote', { proposalId: t.uint64, option: t.string(8) });

export const PROPOSAL_KINDS = ['text', 'paramChange', 'communityPoolSpend', 'modelFault'] as const;
export type ProposalKind = (typeof PROPOSAL_KINDS)[number];

export const VOTE_OPTIONS = ['yes', 'no', 'abstain', 'veto'] as const;
export type VoteOption = (typeof VOTE_OPTIONS)[number];
