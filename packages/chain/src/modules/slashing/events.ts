// Events of the slashing module: each type with its attribute names, the one declaration that its code
// emits with and that the node, SDK and tests read events by.
import { defineEvents } from '../../module.ts';
import { M } from './store.ts';

export const slashingEvents = defineEvents(M, {
  doubleSign: ['operator', 'consensusAddress', 'height', 'burned', 'reporter'],
  missedBlock: ['consensusAddress', 'missed'],
  downtime: ['operator', 'missed', 'burned'],
  /** Two attestations of one key about one subject (kind 1 requestId, kind 2 setId) that differ. */
  attestationEquivocation: ['operator', 'signer', 'kind', 'subject', 'burned', 'reporter'],
});
