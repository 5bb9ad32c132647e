// Parameters of the models module with their defaults and the bounds governance must respect.

import { t } from '@aivm/codec';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

const WEI_PER_CGPT = 10n ** 18n;

/** Hard caps (governance may move params within them, never past them). */
export const MAX_ONCHAIN_MODEL_BYTES = 16 * 1024 * 1024;
export const MAX_ONCHAIN_GAS = 1_000_000_000n;
export const MAX_REVIEW_UNBONDING_BLOCKS = 1_000_000n;
export const MAX_ACTIVATION_WINDOW_BLOCKS = 1_000_000n;
/** snarkjs' largest powers-of-tau file (2^28) bounds every Groth16 circuit. */
export const MAX_ZK_CONSTRAINTS = 2n ** 28n;
/** Bound of the per-byte deposit and per-constraint fee params: 1 CGPT a unit. */
const MAX_UNIT_PRICE_WEI = WEI_PER_CGPT;

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
    /**
     * Deposit per byte of artifactSize locked at publish: every node stores the artifact blob off
     * chain, which on-chain gas does not pay for. Refunded on deprecation, forfeited to the fee
     * collector on expiry or fault.
     */
    storageDepositPerByteWei: t.uint256,
    /** Blocks after publish by which a model must be active; still uploading then, it expires. */
    activationWindowBlocks: t.uint64,
    /** Fee per declared zk constraint a zk publish pays (not refunded): the providers' circuit setup. */
    zkSetupFeePerConstraintWei: t.uint256,
    /** Largest zkConstraints a zk model may declare. */
    maxZkConstraints: t.uint64,
  }),
  defaults: {
    maxOnchainModelBytes: 1024 * 1024,
    maxOnchainGas: 5_000_000n,
    reviewUnbondingBlocks: 100n,
    reviewerSlashBps: 1000,
    minReviewStakeWei: WEI_PER_CGPT,
    // 10^12 wei a byte = 1 CGPT per 10^6 bytes locked: the MNIST MLP (104 KB) locks 0.1 CGPT,
    // the reported 16 MiB junk blob 16.8 CGPT, the 64 MiB limit 67 CGPT (all of it lost when
    // the model never activates).
    storageDepositPerByteWei: 10n ** 12n,
    // 600 blocks (10 minutes at one block a second): a 1 MiB on-chain artifact needs 22 uploads.
    activationWindowBlocks: 600n,
    // 10^12 wei a constraint: a circuit setup (zkey new + contribution) takes about 1 ms per
    // constraint on 2 cores, 13x one proof. MNIST MLP (14,498 constraints): 0.0145 CGPT; the
    // reported 90,000-constraint model 0.09 CGPT (it paid 0.0011 CGPT of gas before).
    zkSetupFeePerConstraintWei: 10n ** 12n,
    // 2^22: proving takes about 77 us a constraint on 2 cores, so 5 minutes at this size.
    maxZkConstraints: 2n ** 22n,
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
    if (p.storageDepositPerByteWei > MAX_UNIT_PRICE_WEI)
      fail('storageDepositPerByteWei must be within 0..10^18 wei (1 CGPT a byte)');
    if (p.activationWindowBlocks < 1n || p.activationWindowBlocks > MAX_ACTIVATION_WINDOW_BLOCKS)
      fail(`activationWindowBlocks must be within 1..${MAX_ACTIVATION_WINDOW_BLOCKS}`);
    if (p.zkSetupFeePerConstraintWei > MAX_UNIT_PRICE_WEI)
      fail('zkSetupFeePerConstraintWei must be within 0..10^18 wei (1 CGPT a constraint)');
    if (p.maxZkConstraints < 1n || p.maxZkConstraints > MAX_ZK_CONSTRAINTS)
      fail(`maxZkConstraints must be within 1..${MAX_ZK_CONSTRAINTS}`);
  },
});

export type ModelsParams = typeof modelsParams.defaults;
