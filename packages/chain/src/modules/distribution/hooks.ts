// Staking hooks that keep F1 accounting exact: a delegation's rewards are settled before its
// stake changes, a new starting point is recorded after, and a slash closes a period.

import type { StakingHooks } from '../staking/hooks.ts';
import type { StakingView } from './expected.ts';
import {
  incrementPeriod,
  initDelegation,
  initValidator,
  recordSlash,
  withdrawDelegationRewards,
} from './f1.ts';
import { getStartingInfo } from './store.ts';

export type DistributionHooks = StakingHooks;

export function createDistributionHooks(view: StakingView): DistributionHooks {
  return {
    async afterValidatorCreated(ctx, operator) {
      await initValidator(ctx, operator);
    },
    async beforeDelegationSharesModified(ctx, delegator, operator) {
      // An existing delegation is paid out; a new one only closes the period, so that it earns
      // nothing of the rewards accrued before it existed.
      if (await getStartingInfo(ctx, operator, delegator)) {
        await withdrawDelegationRewards(ctx, view, delegator, operator);
      } else {
        await incrementPeriod(ctx, view, operator);
      }
    },
    async afterDelegationModified(ctx, delegator, operator) {
      await initDelegation(ctx, view, delegator, operator);
    },
    async beforeValidatorSlashed(ctx, operator, fraction) {
      await recordSlash(ctx, view, operator, fraction);
    },
  };
}
