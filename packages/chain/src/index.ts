export * from './accounts.ts';
export * from './attestation.ts';
export * from './block.ts';
export * from './dec.ts';
export * from './errors.ts';
export * from './eth-tx.ts';
export * from './execute.ts';
export * from './gas.ts';
export * from './genesis.ts';
export * from './merkle.ts';
export * from './module.ts';
export { authParams } from './modules/auth/params.ts';
export { getNonce } from './modules/auth/store.ts';
export { bankEvents } from './modules/bank/events.ts';
export { BankMultiSend, BankSend } from './modules/bank/messages.ts';
export { CGPT_DECIMALS, WEI_PER_CGPT } from './modules/bank/module.ts';
export { bankParams } from './modules/bank/params.ts';
export { getBalance, getSupply } from './modules/bank/store.ts';
export { distributionEvents } from './modules/distribution/events.ts';
export { DISTRIBUTION_ACCOUNT } from './modules/distribution/store.ts';
export { govEvents } from './modules/gov/events.ts';
export { GOV_ACCOUNT } from './modules/gov/store.ts';
export * from './modules/index.ts';
export { assignmentSeed, drawProvider } from './modules/inference/assign.ts';
export { inferenceEvents } from './modules/inference/events.ts';
export {
  InferenceAddStake,
  InferenceChallenge,
  InferenceDecline,
  InferenceOneStep,
  InferenceRegisterProvider,
  InferenceRequest,
  InferenceReveal,
  InferenceSubmitProof,
  InferenceSubmitResult,
  InferenceUnbond,
  InferenceUpdateProvider,
  MAX_STEP_TENSOR_BYTES,
} from './modules/inference/messages.ts';
export { inferenceModule } from './modules/inference/module.ts';
export { type InferenceParams, inferenceParams, tierFloorWei } from './modules/inference/params.ts';
export {
  type Dispute as InferenceDispute,
  getDispute as getInferenceDispute,
  getInput as getInferenceInput,
  getProvider as getInferenceProvider,
  getRequest as getInferenceRequest,
  INFERENCE_ACCOUNT,
  type Provider as InferenceProvider,
  REQUEST_STATUSES as INFERENCE_REQUEST_STATUSES,
  type Request as InferenceRequestRecord,
  type RequestStatus as InferenceRequestStatus,
} from './modules/inference/store.ts';
export { modelsEvents } from './modules/models/events.ts';
export { largestStepTensor } from './modules/models/handlers.ts';
export {
  artifactOnChain,
  clearModelCache,
  countQuery,
  creditReviewers,
  curationScore,
  expectedPublicSignals,
  getFaultProposalsOpen,
  getModel,
  getVerificationKey,
  hasTier,
  loadQuantModel,
  type ModelsKeeper,
  markFaulty,
  modelShapes,
  parseShape,
  partReadGas,
  pendingReward,
  shapeSize,
  vkOnChain,
} from './modules/models/keeper.ts';
export {
  ModelsClaimRewards,
  ModelsDeprecate,
  ModelsPublish,
  ModelsReview,
  ModelsSetPrice,
  ModelsTransfer,
  ModelsUnreview,
  ModelsUpload,
} from './modules/models/messages.ts';
export { createModelsModule, type ModelsModule, modelsModule } from './modules/models/module.ts';
export { modelsParams } from './modules/models/params.ts';
export {
  CHUNK_BYTES,
  chunkKey as modelChunkKey,
  MAX_UPLOAD_BYTES,
  MAX_VK_BYTES,
  MODELS_ACCOUNT,
  type ModelRecord,
  type ModelStatus,
  ONE_STEP_GAS_MARGIN,
  PART_ARTIFACT,
  PART_VK,
  TIER_NAMES,
  TIER_ONCHAIN,
  TIER_OPTIMISTIC,
  TIER_ZK,
  TIERS,
  type TierName,
} from './modules/models/store.ts';
export { slashingEvents } from './modules/slashing/events.ts';
export {
  SlashingAttestationEvidence,
  SlashingSubmitEvidence,
  SlashingUnjail,
} from './modules/slashing/messages.ts';
export { slashingParams } from './modules/slashing/params.ts';
export { stakingEvents } from './modules/staking/events.ts';
export { NO_HOOKS } from './modules/staking/hooks.ts';
export { POWER_REDUCTION, powerOf } from './modules/staking/keeper.ts';
export {
  StakingCreateValidator,
  StakingDelegate,
  StakingEditValidator,
  StakingRedelegate,
  StakingSetAttestationKey,
  StakingUndelegate,
} from './modules/staking/messages.ts';
export { stakingModule } from './modules/staking/module.ts';
export { stakingParams } from './modules/staking/params.ts';
export {
  type AttestationSet,
  attestationKeyHolder,
  getAttestationKey,
  getAttestationSet,
  getAttestationSetId,
  getBondedValidators,
  getCurrentAttestationSet,
  getDelegation,
  getDelegatorsOf,
  getDelegatorValidators,
  getOldestAttestationSetId,
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
export type * from './wire-types.ts';
