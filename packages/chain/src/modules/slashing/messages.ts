import { t } from '@aivm/codec';
import { SignedVoteSchema } from '../../block.ts';

/** Two conflicting votes of one validator (same kind, height, round; different block hashes). */
export const SlashingSubmitEvidence = t.struct('SlashingSubmitEvidence', {
  a: SignedVoteSchema,
  b: SignedVoteSchema,
});

/** Sent by the operator of a jailed validator once the jail period is over. */
export const SlashingUnjail = t.struct('SlashingUnjail', {});
