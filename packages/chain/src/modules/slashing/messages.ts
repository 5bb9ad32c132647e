import { t } from '@aivm/codec';
import { SignedAttestationSchema } from '../../attestation.ts';
import { SignedVoteSchema } from '../../block.ts';

/** Two conflicting votes of one validator (same kind, height, round; different block hashes). */
export const SlashingSubmitEvidence = t.struct('SlashingSubmitEvidence', {
  a: SignedVoteSchema,
  b: SignedVoteSchema,
});

/** Sent by the operator of a jailed validator once the jail period is over. */
export const SlashingUnjail = t.struct('SlashingUnjail', {});

/**
 * Two signatures by one attestation key over two different messages about the same subject: two
 * AivmResults with one requestId, or two AivmValidatorSets with one setId (anyone may submit).
 */
export const SlashingAttestationEvidence = t.struct('SlashingAttestationEvidence', {
  first: SignedAttestationSchema,
  second: SignedAttestationSchema,
});
