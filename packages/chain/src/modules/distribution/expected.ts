// What distribution needs from other modules (Cosmos' expected keepers): a read-only view of
// staking, handed to createDistributionModule/createDistributionHooks by defaultModules (the real
// one is staking's stakingView), so tests can drive distribution with a small staking stand-in.

import type { Address } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';

export type ValidatorView = {
  operator: Address;
  consensusAddress: Address;
  tokens: bigint;
  delegatorShares: bigint;
  /** DEC fixed point. */
  commissionRate: bigint;
  status: 'bonded' | 'unbonding' | 'unbonded';
  jailed: boolean;
};

export interface StakingView {
  getValidator(state: KVReader, operator: Address): Promise<ValidatorView | undefined>;
  getValidatorByConsensusAddress(
    state: KVReader,
    consensusAddress: Address,
  ): Promise<ValidatorView | undefined>;
  /** Bounded by staking's maximum validator count. */
  getBondedValidators(state: KVReader): Promise<readonly ValidatorView[]>;
  getDelegation(
    state: KVReader,
    delegator: Address,
    operator: Address,
  ): Promise<{ shares: bigint } | undefined>;
  /** Bounded by staking's maximum delegations per account. */
  getDelegatorValidators(state: KVReader, delegator: Address): Promise<readonly Address[]>;
  totalBondedTokens(state: KVReader): Promise<bigint>;
  tokensFromShares(validator: ValidatorView, shares: bigint): bigint;
  /** The validator set that signed the parent block: consensus addresses with their powers. */
  previousValidatorSet(state: KVReader): Promise<readonly { address: Address; power: bigint }[]>;
}
