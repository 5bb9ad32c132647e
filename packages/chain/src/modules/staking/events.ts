// Events of the staking module: each type with its attribute names, the one declaration that its code
// emits with and that the node, SDK and tests read events by.
import { defineEvents } from '../../module.ts';
import { M } from './store.ts';

export const stakingEvents = defineEvents(M, {
  createValidator: ['operator', 'consensusAddress', 'selfStake'],
  editValidator: ['operator', 'commissionRate', 'moniker'],
  delegate: ['delegator', 'validator', 'amount'],
  undelegate: ['delegator', 'validator', 'amount', 'completionTimeMs'],
  redelegate: ['delegator', 'src', 'dst', 'amount', 'completionTimeMs'],
  unbondingComplete: ['delegator', 'validator', 'amount'],
  slash: ['operator', 'infractionHeight', 'fraction', 'burned'],
  jail: ['operator', 'reason', 'untilMs', 'tombstoned'],
  unjail: ['operator'],
  bonded: ['operator'],
  unbonding: ['operator'],
  /** The validator's operator registered a new attestation key (`key`; `previous` zero when none). */
  attestationKey: ['operator', 'key', 'previous'],
  /** A new attestation set began at the end of this block: its id, member count and membersHash. */
  attestationSet: ['id', 'members', 'membersHash'],
});
