// Events of the inference module: each type with its attribute names, the one declaration that its code
// emits with and that the node, SDK and tests read events by.
import { defineEvents } from '../../module.ts';
import { M } from './store.ts';

export const inferenceEvents = defineEvents(M, {
  status: ['id', 'status', 'reason'],
  refunded: ['id', 'amountWei'],
  paid: ['id', 'slot', 'ownerWei', 'providerWei', 'reviewersWei', 'protocolWei'],
  slashed: ['provider', 'amountWei', 'reason'],
  assigned: ['id', 'slot', 'provider', 'deadline'],
  slotFailed: ['id', 'slot', 'reason'],
  proven: ['id', 'slot', 'provider'],
  declined: ['id', 'slot', 'provider'],
  computed: ['id', 'slot', 'provider'],
  provider: ['provider', 'action', 'stakeWei'],
  unbonded: ['provider', 'amountWei'],
  disputeStep: ['id', 'slot', 'lo', 'hi'],
  challenged: ['id', 'slot', 'provider', 'challenger'],
  disputeResolved: ['id', 'slot', 'winner', 'loser'],
  /** End-block work on one item (`kind`: a DUE kind, or 0 for a pending slot) failed with `code` and was undone. */
  itemFailed: ['kind', 'id', 'slot', 'code'],
});
