// Callbacks staking makes into other modules (distribution's F1 accounting needs to settle rewards
// before shares or tokens change). Every method is optional to implement; staking awaits each.

import type { Address } from '@aivm/crypto';
import type { ExecContext } from '../../module.ts';

export interface StakingHooks {
  afterValidatorCreated(ctx: ExecContext, operator: Address): Promise<void>;
  /** Before a delegation's shares change, including its creation (no delegation yet) and removal. */
  beforeDelegationSharesModified(ctx: ExecContext, delegator: Address, operator: Address): Promise<void>;
  /** After a delegation's shares changed; the delegation may be gone (fully undelegated). */
  afterDelegationModified(ctx: ExecContext, delegator: Address, operator: Address): Promise<void>;
  /** Before the validator's tokens are cut by `fraction` (DEC-scaled). */
  beforeValidatorSlashed(ctx: ExecContext, operator: Address, fraction: bigint): Promise<void>;
}

export const NO_HOOKS: StakingHooks = {
  afterValidatorCreated: async () => {},
  beforeDelegationSharesModified: async () => {},
  afterDelegationModified: async () => {},
  beforeValidatorSlashed: async () => {},
};
