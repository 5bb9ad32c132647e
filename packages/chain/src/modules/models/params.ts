// Parameters of the models module with their defaults and the bounds governance must respect.

import { t } from '@aivm/codec';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

const WEI_PER_CGPT = 10n ** 18n;

/** Hard caps (governance may move params within them, never past them). */
export const MAX_ONCHAIN_MODEL_BYTES = 16 * 1024 * 1024;
export const MAX_ONCHAIN_GAS = 1_000_000_000n;
export const MAX_REVIEW_UNBONDING_BLOCKS = 1_000_000n;

export const modelsParams = defineParams({
  schema: t.struct('ModelsParams', {
    /** Largest artifact (bytes) a model with the on-chain or optimistic tier may store. */
    maxOnchainModelBytes: t.uint32,
    /** Largest runtime cost estimate (batch 1) of an artifact stored on chain. */
    maxOnchainGas: t.uint64,
    /** Blocks between models/unreview and the release of the stake. */
    reviewUnbondingBlocks: t.uint64,
    /** Share of every reviewer's stake burned when the model is shown faulty, in basis points. */
    reviewerSlashBps: t.uint32,
    /** Smallest non-zero stake a reviewer may hold on a model. */
    minReviewStakeWei: t.uint256,
  }),
  defaults: {
    maxOnchainModelBytes: 1024 * 1024,
    maxOnchainGas: 5_000_000n,
    reviewUnbondingBlocks: 100n,
    reviewerSlashBps: 1000,
    minReviewStakeWei: WEI_PER_CGPT,
  },
  validate(p) {
    const fail = (m: string): never => {
      throw new ModuleError(`models.${m}`);
    };
    if (p.maxOnchainModelBytes < 1 || p.maxOnchainModelBytes > MAX_ONCHAIN_MODEL_BYTES)
      fail(`maxOnchainModelBytes must be within 1..${MAX_ONCHAIN_MODEL_BYTES}`);
    if (p.maxOnchainGas < 1n || p.maxOnchainGas > MAX_ONCHAIN_GAS)
      fail(`maxOnchainGas must be within 1..${MAX_ONCHAIN_GAS}`);
    if (p.reviewUnbondingBlocks < 1n || p.reviewUnbondingBlocks > MAX_REVIEW_UNBONDING_BLOCKS)
      fail(`reviewUnbondingBlocks must be within 1..${MAX_REVIEW_UNBONDING_BLOCKS}`);
    if (p.reviewerSlashBps > 10_000) fail('reviewerSlashBps must be within 0..10000');
    if (p.minReviewStakeWei < 1n || p.minReviewStakeWei > 1_000_000_000n * WEI_PER_CGPT)
      fail('minReviewStakeWei must be within 1 wei..10^9 CGPT');
  },
});

export type ModelsParams = typeof modelsParams.defaults;
