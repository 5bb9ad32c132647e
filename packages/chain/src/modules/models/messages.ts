// Message schemas of the models module.

import { t } from '@aivm/codec';
import { MAX_UPLOAD_BYTES, MODEL_FIELDS, MODEL_ID } from './store.ts';

/**
 * Publishes a model version. Schemas are shapes at batch 1 ("[1,784]"); tiers a bit mask (1
 * on-chain, 2 zk, 4 optimistic); the zk fields are zero / empty without the zk tier.
 */
export const ModelsPublish = t.struct('ModelsPublish', {
  id: MODEL_ID,
  ...MODEL_FIELDS,
  previous: MODEL_ID,
});

/** Appends data to part 0 (artifact) or 1 (verification key) at `offset` = bytes stored so far. */
export const ModelsUpload = t.struct('ModelsUpload', {
  id: MODEL_ID,
  part: t.uint8,
  offset: t.uint32,
  data: t.bytes(MAX_UPLOAD_BYTES),
});

export const ModelsTransfer = t.struct('ModelsTransfer', { id: MODEL_ID, newOwner: t.address });
export const ModelsDeprecate = t.struct('ModelsDeprecate', { id: MODEL_ID });
export const ModelsSetPrice = t.struct('ModelsSetPrice', { id: MODEL_ID, priceWei: t.uint256 });

/** Adds stake (0 only changes the rating) and sets the rating 1..5. */
export const ModelsReview = t.struct('ModelsReview', { id: MODEL_ID, stakeWei: t.uint256, rating: t.uint8 });
export const ModelsUnreview = t.struct('ModelsUnreview', { id: MODEL_ID, amountWei: t.uint256 });
export const ModelsClaimRewards = t.struct('ModelsClaimRewards', { id: MODEL_ID });
