export * from './accounts.ts';
export * from './block.ts';
export * from './dec.ts';
export * from './errors.ts';
export * from './execute.ts';
export * from './gas.ts';
export * from './genesis.ts';
export * from './merkle.ts';
export * from './module.ts';
export { authParams } from './modules/auth/params.ts';
export { getNonce } from './modules/auth/store.ts';
export { BankMultiSend, BankSend } from './modules/bank/messages.ts';
export { CGPT_DECIMALS, WEI_PER_CGPT } from './modules/bank/module.ts';
export { bankParams } from './modules/bank/params.ts';
export { getBalance, getSupply } from './modules/bank/store.ts';
export { DISTRIBUTION_ACCOUNT } from './modules/distribution/store.ts';
export { GOV_ACCOUNT } from './modules/gov/store.ts';
export * from './modules/index.ts';
export { SlashingSubmitEvidence, SlashingUnjail } from './modules/slashing/messages.ts';
export { slashingParams } from './modules/slashing/params.ts';
export { NO_HOOKS } from './modules/staking/hooks.ts';
export { POWER_REDUCTION, powerOf } from './modules/staking/keeper.ts';
export {
  StakingCreateValidator,
  StakingDelegate,
  StakingEditValidator,
  StakingRedelegate,
  StakingUndelegate,
} from './modules/staking/messages.ts';
export { stakingModule } from './modules/staking/module.ts';
export { stakingParams } from './modules/staking/params.ts';
export {
  getBondedValidators,
  getDelegation,
  getDelegatorsOf,
  getDelegatorValidators,
  getUnbondingEntries,
  getValidator,
  getValidatorByConsensusAddress,
  listValidators,
  tokensFromShares,
  totalBondedTokens,
  type ValidatorRecord,
  type ValidatorStatus,
} from './modules/staking/store.ts';
export * from './overlay.ts';
export * from './tx.ts';
export * from './validators.ts';
