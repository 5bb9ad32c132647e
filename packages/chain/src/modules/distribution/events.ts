// Events of the distribution module: each type with its attribute names, the one declaration that its code
// emits with and that the node, SDK and tests read events by.
import { defineEvents } from '../../module.ts';
import { M } from './store.ts';

export const distributionEvents = defineEvents(M, {
  withdrawRewards: ['delegator', 'validator', 'amount'],
  withdrawCommission: ['validator', 'amount'],
  slash: ['validator', 'fraction', 'period'],
  allocate: ['fees', 'emission', 'communityPoolDec'],
  communityPoolSpend: ['recipient', 'amount'],
});
