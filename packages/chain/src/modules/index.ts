import type { Module } from '../module.ts';
import { authModule } from './auth/module.ts';
import { bankModule } from './bank/module.ts';
import { createSlashingModule } from './slashing/module.ts';
import type { StakingHooks } from './staking/hooks.ts';
import { createStakingModule } from './staking/module.ts';

/**
 * The modules of an AIVM chain, in execution order of their hooks and genesis sections: bank
 * before staking (self-stake comes from genesis balances), slashing's beginBlock before staking's
 * endBlock (a validator jailed in a block leaves the set at that block's end).
 */
export function defaultModules(opts: { stakingHooks?: StakingHooks } = {}): Module[] {
  const staking = createStakingModule(opts.stakingHooks);
  return [authModule, bankModule, staking, createSlashingModule(staking.keeper)];
}

export type { StakingHooks } from './staking/hooks.ts';
export type { StakingKeeper, StakingModule } from './staking/module.ts';
export { authModule, bankModule, createSlashingModule, createStakingModule };
