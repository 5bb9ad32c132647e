// The narrow view of staking that distribution and gov read. The modules take it as a parameter
// rather than importing staking's store directly, so tests can drive them with a small staking
// stand-in while the node wires the real store (stakingStoreView) in one place.

import type { Address } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { readValidatorSet } from '../../validators.ts';
import * as staking from '../staking/store.ts';

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

/** The real staking module's store. */
export const stakingStoreView: StakingView = {
  getValidator: staking.getValidator,
  getValidatorByConsensusAddress: staking.getValidatorByConsensusAddress,
  getBondedValidators: staking.getBondedValidators,
  getDelegation: staking.getDelegation,
  getDelegatorValidators: staking.getDelegatorValidators,
  totalBondedTokens: staking.totalBondedTokens,
  tokensFromShares: staking.tokensFromShares,
  previousValidatorSet: (state) => readValidatorSet(state, 'previous'),
};
