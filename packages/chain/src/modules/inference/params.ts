// Parameters of the inference module with their defaults and the bounds governance must respect.

import { t } from '@aivm/codec';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';
import { TIER_OPTIMISTIC, TIER_ZK } from '../models/store.ts';

const WEI_PER_CGPT = 10n ** 18n;

/** Hard caps (records are sized by them; governance may move params within them, never past). */
export const MAX_REDUNDANCY = 16;
export const MAX_ATTEMPTS = 10;
export const MAX_INPUT_BYTES = 1024 * 1024;
export const MAX_BLOCKS = 1_000_000n;
export const BPS = 10_000n;
export const MAX_MIN_PRICE_WEI = 1_000n * WEI_PER_CGPT;
export const MAX_PENDING_PER_REQUESTER = 100_000;
/** Bound of the per-constraint and per-gas price params (1 CGPT a unit). */
export const MAX_UNIT_PRICE_WEI = WEI_PER_CGPT;

export const inferenceParams = defineParams({
  schema: t.struct('InferenceParams', {
    /** Least bonded stake for a provider to register and to get new jobs. */
    minProviderStakeWei: t.uint256,
    /** Blocks an assigned provider has to answer (valid while height <= assignedAt + this). */
    resultDeadlineBlocks: t.uint64,
    /** Blocks after an optimistic result during which it may be challenged. */
    challengeWindowBlocks: t.uint64,
    /** Blocks each party has for one dispute step (reveal, one-step). */
    disputeStepBlocks: t.uint64,
    /** Least bond of a challenge. */
    challengeBondWei: t.uint256,
    /** Share of a provider's stake cut for an invalid proof or a lost dispute, in basis points. */
    faultSlashBps: t.uint32,
    /** Share of a provider's stake cut for a missed deadline, in basis points. */
    missedDeadlineSlashBps: t.uint32,
    /** Share of a provider's cut paid to the challenger that proved the fault, in basis points. */
    challengerRewardBps: t.uint32,
    /** Assignments one slot may use before the request fails. */
    maxAttempts: t.uint32,
    /** Most slots (independent providers) per request. */
    maxRedundancy: t.uint32,
    /** Largest input of one request, in bytes. */
    maxInputBytes: t.uint32,
    /** Gas charged for one Groth16 verification. */
    zkVerifyGas: t.uint64,
    /** Blocks between inference/unbond and the release of the stake. */
    providerUnbondingBlocks: t.uint64,
    ownerShareBps: t.uint32,
    providerShareBps: t.uint32,
    reviewerShareBps: t.uint32,
    protocolShareBps: t.uint32,
    /** Most (re)assignments end-block processing makes per block (the rest waits its turn). */
    maxAssignPerBlock: t.uint32,
    /** Least model price (per slot) a zk or optimistic request may pay; the on-chain tier may be free. */
    minPriceWei: t.uint256,
    /** Most slots not yet terminal (paid or failed) the requests of one requester may hold. */
    maxPendingPerRequester: t.uint32,
    /** zk tier price floor per declared constraint of the model's circuit (the proving cost). */
    zkPricePerConstraintWei: t.uint256,
    /** Optimistic tier price floor per gas of the model's batch-1 estimate (the execution cost). */
    optimisticPricePerGasWei: t.uint256,
    /** Blocks a slot may wait for a provider (from the request, or from losing its provider) before it fails. */
    queueTimeoutBlocks: t.uint64,
  }),
  defaults: {
    minProviderStakeWei: 1_000n * WEI_PER_CGPT,
    resultDeadlineBlocks: 30n,
    challengeWindowBlocks: 10n,
    disputeStepBlocks: 10n,
    challengeBondWei: 10n * WEI_PER_CGPT,
    faultSlashBps: 1000,
    missedDeadlineSlashBps: 100,
    challengerRewardBps: 5000,
    maxAttempts: 3,
    maxRedundancy: 5,
    maxInputBytes: 65_536 - 4_096,
    zkVerifyGas: 2_000_000n,
    providerUnbondingBlocks: 100n,
    ownerShareBps: 6000,
    providerShareBps: 2500,
    reviewerShareBps: 1000,
    protocolShareBps: 500,
    maxAssignPerBlock: 200,
    minPriceWei: 10n ** 15n,
    maxPendingPerRequester: 64,
    // 10^11 wei a constraint: a Groth16 proof takes about 77 us a constraint on 2 cores, so this
    // is about 0.0013 CGPT per proving second. MNIST MLP (14,498 constraints): 0.00145 CGPT; the
    // reported 90,000-constraint model: 0.009 CGPT, 9x the minPriceWei it was served at.
    zkPricePerConstraintWei: 10n ** 11n,
    // 10^9 wei a gas, auth's default minGasPriceWei: an optimistic run costs at least what the
    // on-chain tier charges for the same execution (MNIST MLP, 226,686 gas: 0.00023 CGPT, so
    // minPriceWei decides).
    optimisticPricePerGasWei: 10n ** 9n,
    queueTimeoutBlocks: 30n,
  },
  validate(p) {
    const fail = (m: string): never => {
      throw new ModuleError(`inference.${m}`);
    };
    const blocks = (v: bigint, min: bigint, name: string) => {
      if (v < min || v > MAX_BLOCKS) fail(`${name} must be within ${min}..${MAX_BLOCKS}`);
    };
    const bps = (v: number, name: string) => {
      if (v < 0 || v > 10_000) fail(`${name} must be within 0..10000`);
    };
    if (p.minProviderStakeWei < 1n || p.minProviderStakeWei > 1_000_000_000n * WEI_PER_CGPT)
      fail('minProviderStakeWei must be within 1 wei..10^9 CGPT');
    blocks(p.resultDeadlineBlocks, 1n, 'resultDeadlineBlocks');
    blocks(p.challengeWindowBlocks, 1n, 'challengeWindowBlocks');
    blocks(p.disputeStepBlocks, 1n, 'disputeStepBlocks');
    blocks(p.providerUnbondingBlocks, 1n, 'providerUnbondingBlocks');
    if (p.challengeBondWei < 1n || p.challengeBondWei > 1_000_000_000n * WEI_PER_CGPT)
      fail('challengeBondWei must be within 1 wei..10^9 CGPT');
    bps(p.faultSlashBps, 'faultSlashBps');
    bps(p.missedDeadlineSlashBps, 'missedDeadlineSlashBps');
    bps(p.challengerRewardBps, 'challengerRewardBps');
    if (p.maxAttempts < 1 || p.maxAttempts > MAX_ATTEMPTS)
      fail(`maxAttempts must be within 1..${MAX_ATTEMPTS}`);
    if (p.maxRedundancy < 1 || p.maxRedundancy > MAX_REDUNDANCY)
      fail(`maxRedundancy must be within 1..${MAX_REDUNDANCY}`);
    if (p.maxInputBytes < 1 || p.maxInputBytes > MAX_INPUT_BYTES)
      fail(`maxInputBytes must be within 1..${MAX_INPUT_BYTES}`);
    if (p.zkVerifyGas < 1n || p.zkVerifyGas > 1_000_000_000n) fail('zkVerifyGas must be within 1..10^9');
    bps(p.ownerShareBps, 'ownerShareBps');
    bps(p.providerShareBps, 'providerShareBps');
    bps(p.reviewerShareBps, 'reviewerShareBps');
    bps(p.protocolShareBps, 'protocolShareBps');
    if (p.ownerShareBps + p.providerShareBps + p.reviewerShareBps + p.protocolShareBps !== 10_000)
      fail('ownerShareBps + providerShareBps + reviewerShareBps + protocolShareBps must be 10000');
    if (p.maxAssignPerBlock < 1 || p.maxAssignPerBlock > 10_000)
      fail('maxAssignPerBlock must be within 1..10000');
    if (p.minPriceWei < 1n || p.minPriceWei > MAX_MIN_PRICE_WEI)
      fail(`minPriceWei must be within 1 wei..${MAX_MIN_PRICE_WEI} wei (1000 CGPT)`);
    if (p.maxPendingPerRequester < 1 || p.maxPendingPerRequester > MAX_PENDING_PER_REQUESTER)
      fail(`maxPendingPerRequester must be within 1..${MAX_PENDING_PER_REQUESTER}`);
    if (p.zkPricePerConstraintWei > MAX_UNIT_PRICE_WEI)
      fail('zkPricePerConstraintWei must be within 0..10^18 wei (1 CGPT a constraint)');
    if (p.optimisticPricePerGasWei > MAX_UNIT_PRICE_WEI)
      fail('optimisticPricePerGasWei must be within 0..10^18 wei (1 CGPT a gas)');
    blocks(p.queueTimeoutBlocks, 1n, 'queueTimeoutBlocks');
  },
});

export type InferenceParams = typeof inferenceParams.defaults;

/** What a tier's price floor is computed from: the model's declared and measured costs. */
export type PricedModel = { zkConstraints: bigint; gasEstimate: bigint };

/**
 * Least price per slot of `tier` for a model: 0 for the on-chain tier (the requester pays the
 * execution as gas; nobody is assigned); otherwise the larger of minPriceWei and the tier's cost
 * (zk: zkPricePerConstraintWei * zkConstraints; optimistic: optimisticPricePerGasWei *
 * gasEstimate). This part of a paid slot goes wholly to its provider (see paySlot).
 */
export function tierFloorWei(
  params: Pick<InferenceParams, 'minPriceWei' | 'zkPricePerConstraintWei' | 'optimisticPricePerGasWei'>,
  model: PricedModel,
  tier: number,
): bigint {
  let cost: bigint;
  if (tier === TIER_ZK) cost = params.zkPricePerConstraintWei * model.zkConstraints;
  else if (tier === TIER_OPTIMISTIC) cost = params.optimisticPricePerGasWei * model.gasEstimate;
  else return 0n;
  return cost > params.minPriceWei ? cost : params.minPriceWei;
}

/** How tierFloorWei was reached, for error messages. */
export function tierFloorText(
  params: Pick<InferenceParams, 'minPriceWei' | 'zkPricePerConstraintWei' | 'optimisticPricePerGasWei'>,
  model: PricedModel,
  tier: number,
): string {
  const floor = tierFloorWei(params, model, tier);
  if (tier === TIER_ZK && floor !== params.minPriceWei)
    return `${floor} wei (zkPricePerConstraintWei ${params.zkPricePerConstraintWei} x ${model.zkConstraints} constraints)`;
  if (tier === TIER_OPTIMISTIC && floor !== params.minPriceWei)
    return `${floor} wei (optimisticPricePerGasWei ${params.optimisticPricePerGasWei} x gas estimate ${model.gasEstimate})`;
  return `${floor} wei (minPriceWei)`;
}
