// Governance parameters: every default in one place, with the bounds a proposal must respect
// (governance can change its own rules, but never to a value that would let a minority rule).

import { t } from '@aivm/codec';
import { DEC } from '../../dec.ts';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

const WEI_PER_CGPT = 10n ** 18n;
const MINUTE_MS = 60_000n;
const DAY_MS = 86_400_000n;

/** Hard caps on what one proposal may keep in state (governance may lower them, not raise them). */
export const MAX_ACTIVE_PROPOSALS = 500;
export const MAX_VOTERS_PER_PROPOSAL = 20_000;
export const MAX_DEPOSITORS_PER_PROPOSAL = 1_000;

export const govParams = defineParams({
  schema: t.struct('GovParams', {
    minDepositWei: t.uint256,
    /** A submission must bring at least this share of minDepositWei (spam guard), DEC fixed point. */
    minInitialDepositRatio: t.uint256,
    /** A proposal that has not reached minDepositWei this long after submission expires. */
    maxDepositPeriodMs: t.uint64,
    votingPeriodMs: t.uint64,
    /** Share of bonded tokens that must vote (any option), DEC fixed point. */
    quorum: t.uint256,
    /** yes / (yes + no + veto) must exceed it, DEC fixed point. */
    threshold: t.uint256,
    /** veto / all votes above it rejects the proposal and burns its deposits, DEC fixed point. */
    vetoThreshold: t.uint256,
    maxActiveProposals: t.uint32,
    maxVotersPerProposal: t.uint32,
    maxDepositorsPerProposal: t.uint32,
  }),
  defaults: {
    minDepositWei: 100n * WEI_PER_CGPT,
    minInitialDepositRatio: DEC / 10n,
    maxDepositPeriodMs: 2n * DAY_MS,
    votingPeriodMs: 2n * DAY_MS,
    quorum: (334n * DEC) / 1000n,
    threshold: DEC / 2n,
    vetoThreshold: (334n * DEC) / 1000n,
    maxActiveProposals: 50,
    maxVotersPerProposal: 5_000,
    maxDepositorsPerProposal: 100,
  },
  validate(p) {
    const fail = (m: string): never => {
      throw new ModuleError(`gov.${m}`);
    };
    if (p.minDepositWei < 1n || p.minDepositWei > 1_000_000_000n * WEI_PER_CGPT)
      fail('minDepositWei must be within 1 wei..10^9 CGPT');
    if (p.minInitialDepositRatio > DEC) fail('minInitialDepositRatio must be within 0..1');
    if (p.maxDepositPeriodMs < MINUTE_MS || p.maxDepositPeriodMs > 30n * DAY_MS)
      fail('maxDepositPeriodMs must be within 1 minute..30 days');
    if (p.votingPeriodMs < MINUTE_MS || p.votingPeriodMs > 30n * DAY_MS)
      fail('votingPeriodMs must be within 1 minute..30 days');
    if (p.quorum < DEC / 100n || p.quorum > DEC) fail('quorum must be within 0.01..1');
    if (p.threshold < DEC / 2n || p.threshold >= DEC) fail('threshold must be within 0.5..1 (exclusive)');
    if (p.vetoThreshold < DEC / 10n || p.vetoThreshold > DEC) fail('vetoThreshold must be within 0.1..1');
    if (p.maxActiveProposals < 1 || p.maxActiveProposals > MAX_ACTIVE_PROPOSALS)
      fail(`maxActiveProposals must be within 1..${MAX_ACTIVE_PROPOSALS}`);
    if (p.maxVotersPerProposal < 1 || p.maxVotersPerProposal > MAX_VOTERS_PER_PROPOSAL)
      fail(`maxVotersPerProposal must be within 1..${MAX_VOTERS_PER_PROPOSAL}`);
    if (p.maxDepositorsPerProposal < 1 || p.maxDepositorsPerProposal > MAX_DEPOSITORS_PER_PROPOSAL)
      fail(`maxDepositorsPerProposal must be within 1..${MAX_DEPOSITORS_PER_PROPOSAL}`);
  },
});

export type GovParams = typeof govParams.defaults;
