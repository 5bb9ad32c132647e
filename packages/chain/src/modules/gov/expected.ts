// What gov needs from other modules (Cosmos' expected keepers), handed to createGovModule by
// defaultModules: stake-weighted voting reads staking, a modelFault proposal acts on the models
// module, a community-pool spend pays out of distribution, and a parameter change reaches the
// target module's ParamsDef through the chain's module list.

import type { Address } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import type { ExecContext, Module } from '../../module.ts';

export type GovValidator = {
  operator: Address;
  tokens: bigint;
  delegatorShares: bigint;
  status: 'bonded' | 'unbonding' | 'unbonded';
};

export interface GovStaking {
  /** Bounded by staking's maximum validator count. */
  getBondedValidators(state: KVReader): Promise<readonly GovValidator[]>;
  getDelegation(
    state: KVReader,
    delegator: Address,
    operator: Address,
  ): Promise<{ shares: bigint } | undefined>;
  /** Bounded by staking's maximum delegations per account. */
  getDelegatorValidators(state: KVReader, delegator: Address): Promise<readonly Address[]>;
  totalBondedTokens(state: KVReader): Promise<bigint>;
  tokensFromShares(validator: GovValidator, shares: bigint): bigint;
}

export interface GovModels {
  checkCanMarkFaulty(state: KVReader, id: string): Promise<unknown>;
  openFaultProposal(ctx: ExecContext, id: string): Promise<void>;
  closeFaultProposal(ctx: ExecContext, id: string): Promise<void>;
  markFaulty(ctx: ExecContext, id: string): Promise<unknown>;
}

export interface GovCommunityPool {
  /** Pays out of the community pool; a typed failure when it holds less. */
  spend(ctx: ExecContext, recipient: Address, amountWei: bigint): Promise<void>;
}

export type GovDeps = {
  /** The chain's modules, read lazily (gov is built before the list that holds it). */
  modules: () => readonly Module[];
  staking: GovStaking;
  models: GovModels;
  communityPool: GovCommunityPool;
};
