import type { KVReader } from '@aivm/state';
import type { Module } from '../module.ts';
import { authModule } from './auth/module.ts';
import { bankModule } from './bank/module.ts';
import { spendCommunityPool } from './distribution/f1.ts';
import { distributionHooks, distributionModule } from './distribution/module.ts';
import { createGovModule } from './gov/module.ts';
import { createInferenceModule } from './inference/module.ts';
import { getRequest } from './inference/store.ts';
import { createModelsModule } from './models/module.ts';
import { createSlashingModule } from './slashing/module.ts';
import type { StakingHooks } from './staking/hooks.ts';
import { stakingView } from './staking/keeper.ts';
import { createStakingModule } from './staking/module.ts';

/**
 * The modules of an AIVM chain, in execution order of their hooks and genesis sections: bank
 * before staking (self-stake comes from genesis balances); distribution's beginBlock (rewards of
 * the parent block) before slashing's (a downtime slash in the same block must not eat rewards
 * already earned); slashing's beginBlock before staking's endBlock (a validator jailed in a block
 * leaves the set at that block's end); gov last (a passed parameter change applies at the end of
 * the block that tallies it).
 *
 * `stakingHooks` replaces distribution's hooks (tests only: reward accounting then stops).
 */
export function defaultModules(opts: { stakingHooks?: StakingHooks } = {}): Module[] {
  const staking = createStakingModule(opts.stakingHooks ?? distributionHooks);
  const models = createModelsModule();
  const modules: Module[] = [
    authModule,
    bankModule,
    staking,
    distributionModule,
    createSlashingModule(staking.keeper, { finalizedAt: requestFinalizedAt }),
    models,
    createInferenceModule(),
  ];
  modules.push(
    createGovModule({
      modules: () => modules,
      staking: stakingView,
      models: models.keeper,
      communityPool: { spend: spendCommunityPool },
    }),
  );
  return modules;
}

/** The height an inference request was finalized at (its last update), if it was. */
async function requestFinalizedAt(state: KVReader, id: bigint): Promise<bigint | undefined> {
  const r = await getRequest(state, id);
  return r?.status === 'finalized' ? r.updatedAt : undefined;
}

export type { StakingHooks } from './staking/hooks.ts';
export type { StakingKeeper, StakingModule } from './staking/module.ts';
export {
  authModule,
  bankModule,
  createGovModule,
  createInferenceModule,
  createSlashingModule,
  createStakingModule,
  distributionModule,
};
