// Staking parameters: every default in one place, each bounded; genesis and governance both go
// through validate().

import { t } from '@aivm/codec';
import { MAX_VALIDATORS } from '../../block.ts';
import { DEC } from '../../dec.ts';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

const DAY_MS = 86_400_000n;
const CGPT = 10n ** 18n;

export const stakingParams = defineParams({
  schema: t.struct('StakingParams', {
    /** Size of the active set: the top maxValidators by power sign blocks. */
    maxValidators: t.uint32,
    /** Time (block time) an undelegation, a redelegation or a leaving validator takes to mature. */
    unbondingTimeMs: t.uint64,
    /** Least self-delegation (wei) to create a validator, stay unjailed and unjail. */
    minSelfDelegation: t.uint256,
    /** Floor on every validator's commission rate (DEC-scaled). */
    minCommissionRate: t.uint256,
    /** Most unbonding (or redelegation) entries per delegator and validator (pair) at a time. */
    maxEntries: t.uint32,
    /** Most distinct delegators per validator (the bounded index modules iterate over). */
    maxDelegatorsPerValidator: t.uint32,
    /** Most validators one account delegates to at once. */
    maxValidatorsPerDelegator: t.uint32,
    /** Attestation sets kept in state (the current one and those before it): evidence and relayers read them. */
    attestationSetsKept: t.uint32,
  }),
  defaults: {
    maxValidators: 100,
    unbondingTimeMs: 21n * DAY_MS,
    minSelfDelegation: 1_000n * CGPT,
    minCommissionRate: 0n,
    maxEntries: 7,
    maxDelegatorsPerValidator: 1_000,
    maxValidatorsPerDelegator: 50,
    attestationSetsKept: 256,
  },
  validate(p) {
    if (p.maxValidators < 1 || p.maxValidators > MAX_VALIDATORS)
      throw new ModuleError(`staking.maxValidators must be within 1..${MAX_VALIDATORS}`);
    if (p.unbondingTimeMs < 1_000n || p.unbondingTimeMs > 60n * DAY_MS)
      throw new ModuleError('staking.unbondingTimeMs must be within 1 s..60 days');
    if (p.minSelfDelegation < CGPT || p.minSelfDelegation > 10n ** 9n * CGPT)
      throw new ModuleError('staking.minSelfDelegation must be within 1..10^9 CGPT');
    if (p.minCommissionRate > DEC / 2n) throw new ModuleError('staking.minCommissionRate must be <= 0.5');
    if (p.maxEntries < 1 || p.maxEntries > 32)
      throw new ModuleError('staking.maxEntries must be within 1..32');
    if (p.maxDelegatorsPerValidator < 1 || p.maxDelegatorsPerValidator > 10_000)
      throw new ModuleError('staking.maxDelegatorsPerValidator must be within 1..10000');
    if (p.maxValidatorsPerDelegator < 1 || p.maxValidatorsPerDelegator > 100)
      throw new ModuleError('staking.maxValidatorsPerDelegator must be within 1..100');
    if (p.attestationSetsKept < 2 || p.attestationSetsKept > 100_000)
      throw new ModuleError('staking.attestationSetsKept must be within 2..100000');
  },
});
export type StakingParams = typeof stakingParams.defaults;

/** Commission rate changes at most once per this period (Cosmos' rule). */
export const COMMISSION_CHANGE_PERIOD_MS = DAY_MS;
/** Hard cap on validator records (candidates, active or not): listValidators reads one list. */
export const MAX_VALIDATOR_RECORDS = 2_000;
/** Maturity queue buckets are this wide, so the bucket index stays small (60 days = 1440). */
export const MATURITY_BUCKET_MS = 3_600_000n;
/** Most queue items per bucket; a message that would exceed it fails (retry in the next hour). */
export const MAX_BUCKET_ITEMS = 5_000;
