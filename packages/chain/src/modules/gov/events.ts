// Events of the gov module: each type with its attribute names, the one declaration that its code
// emits with and that the node, SDK and tests read events by.
import { defineEvents } from '../../module.ts';
import { M } from './store.ts';

export const govEvents = defineEvents(M, {
  submitProposal: ['id', 'kind', 'proposer', 'status'],
  deposit: ['id', 'depositor', 'amount', 'status'],
  vote: ['id', 'voter', 'option'],
  proposalFinished: ['id', 'status', 'reason', 'code'],
  /** Ending the proposal failed with `code` and was undone; it stays active and is tried again next block. */
  proposalStuck: ['id', 'code'],
});
