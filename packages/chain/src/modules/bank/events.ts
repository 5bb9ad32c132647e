// Events of the bank module: each type with its attribute names, the one declaration that its code
// emits with and that the node, SDK and tests read events by.
import { defineEvents } from '../../module.ts';
import { M } from './store.ts';

export const bankEvents = defineEvents(M, {
  transfer: ['from', 'to', 'amount'],
});
