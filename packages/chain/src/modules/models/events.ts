// Events of the models module: each type with its attribute names, the one declaration that its code
// emits with and that the node, SDK and tests read events by.
import { defineEvents } from '../../module.ts';
import { M } from './store.ts';

export const modelsEvents = defineEvents(M, {
  published: ['id', 'owner', 'tiers', 'depositWei', 'setupFeeWei'],
  activated: ['id'],
  uploaded: ['id', 'part', 'bytes'],
  transferred: ['id', 'from', 'to'],
  deprecated: ['id', 'refundedWei'],
  /** Still uploading at the end of its activation window: deposit forfeited, on-chain parts deleted. */
  expired: ['id', 'forfeitedWei'],
  /** The end-block expiry of a model failed with `code` and was undone. */
  expiryFailed: ['id', 'code'],
  priceSet: ['id', 'priceWei'],
  reviewed: ['id', 'reviewer', 'stakeWei', 'rating'],
  unreviewed: ['id', 'reviewer', 'amountWei', 'releaseHeight'],
  rewardsPaid: ['id', 'reviewer', 'amount'],
  faulty: ['id', 'burnedWei', 'forfeitedWei'],
  unbonded: ['id', 'reviewer', 'amountWei'],
});
