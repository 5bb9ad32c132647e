import { t, toJson } from '@aivm/codec';
import { type Address, bytesToHex } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { attestationMembersHash } from '../../attestation.ts';
import { defineQuery, readParams } from '../../module.ts';
import { powerOf } from './keeper.ts';
import { stakingParams } from './params.ts';
import {
  type AttestationSet,
  getAttestationKey,
  getAttestationSet,
  getAttestationSetId,
  getDelegation,
  getDelegatorsOf,
  getDelegatorValidators,
  getRedelegationEntries,
  getRedelegationsOf,
  getUnbondingEntries,
  getValidator,
  listValidators,
  RedelegationEntrySchema,
  tokensFromShares,
  UnbondingEntrySchema,
  type ValidatorRecord,
} from './store.ts';

async function validatorView(state: KVReader, v: ValidatorRecord) {
  return {
    operator: v.operator,
    attestationKey: await getAttestationKey(state, v.operator),
    consensusPubKey: toJson(t.bytes32, v.consensusPubKey),
    consensusAddress: v.consensusAddress,
    moniker: v.moniker,
    status: v.status,
    jailed: v.jailed,
    jailedUntilMs: v.jailedUntilMs.toString(),
    tombstoned: v.tombstoned,
    tokens: v.tokens.toString(),
    power: powerOf(v.tokens).toString(),
    delegatorShares: v.delegatorShares.toString(),
    commissionRate: v.commissionRate.toString(),
    maxCommissionRate: v.maxCommissionRate.toString(),
    maxCommissionChangeRate: v.maxCommissionChangeRate.toString(),
    commissionUpdatedMs: v.commissionUpdatedMs.toString(),
    unbondingHeight: v.unbondingHeight.toString(),
    unbondingCompletionMs: v.unbondingCompletionMs.toString(),
  };
}

function attestationSetView(set: AttestationSet, currentId: bigint) {
  let totalPower = 0n;
  for (const m of set.members) totalPower += m.power;
  return {
    id: set.id.toString(),
    current: set.id === currentId,
    startHeight: set.startHeight.toString(),
    members: set.members.map((m) => ({ signer: m.signer, power: m.power.toString() })),
    totalPower: totalPower.toString(),
    membersHash: bytesToHex(attestationMembersHash(set.members)),
  };
}

async function delegationView(state: KVReader, delegator: Address, operator: Address) {
  const d = await getDelegation(state, delegator, operator);
  const v = await getValidator(state, operator);
  if (!d || !v) return null;
  return {
    delegator,
    validator: operator,
    shares: d.shares.toString(),
    tokens: tokensFromShares(v, d.shares).toString(),
  };
}

export const stakingQueries = {
  validators: defineQuery({
    params: t.struct('StakingValidatorsQuery', {}),
    description: 'Every validator (bonded or not), with tokens, power, commission and status',
    handler: async (state) => {
      const out = [];
      for (const v of await listValidators(state)) out.push(await validatorView(state, v));
      return out;
    },
  }),
  validator: defineQuery({
    params: t.struct('StakingValidatorQuery', { operator: t.address }),
    description: 'One validator by operator address (null if none)',
    handler: async (state, p) => {
      const v = await getValidator(state, p.operator);
      return v ? validatorView(state, v) : null;
    },
  }),
  delegation: defineQuery({
    params: t.struct('StakingDelegationQuery', { delegator: t.address, validator: t.address }),
    description: 'Shares and current token value of one delegation (null if none)',
    handler: async (state, p) => delegationView(state, p.delegator, p.validator),
  }),
  delegatorDelegations: defineQuery({
    params: t.struct('StakingDelegatorQuery', { delegator: t.address }),
    description: 'Every delegation of an account',
    handler: async (state, p) => {
      const out = [];
      for (const op of await getDelegatorValidators(state, p.delegator))
        out.push(await delegationView(state, p.delegator, op));
      return out;
    },
  }),
  validatorDelegations: defineQuery({
    params: t.struct('StakingValidatorDelegationsQuery', { validator: t.address }),
    description: 'Every delegation to a validator',
    handler: async (state, p) => {
      const out = [];
      for (const d of await getDelegatorsOf(state, p.validator))
        out.push(await delegationView(state, d, p.validator));
      return out;
    },
  }),
  unbonding: defineQuery({
    params: t.struct('StakingUnbondingQuery', { delegator: t.address, validator: t.address }),
    description: 'Maturing undelegations of an account from one validator',
    handler: async (state, p) =>
      (await getUnbondingEntries(state, p.delegator, p.validator)).map((e) =>
        toJson(UnbondingEntrySchema, e),
      ),
  }),
  redelegations: defineQuery({
    params: t.struct('StakingRedelegationsQuery', { delegator: t.address }),
    description: 'Maturing redelegations of an account',
    handler: async (state, p) => {
      const out = [];
      for (const r of await getRedelegationsOf(state, p.delegator)) {
        const entries = await getRedelegationEntries(state, p.delegator, r.src, r.dst);
        out.push({ src: r.src, dst: r.dst, entries: entries.map((e) => toJson(RedelegationEntrySchema, e)) });
      }
      return out;
    },
  }),
  attestationSet: defineQuery({
    params: t.struct('StakingAttestationSetQuery', { id: t.uint64 }),
    defaults: { id: 0n },
    description:
      'The attestation set (members in validator-set order: attestation key, zero when none, and power; membersHash as AivmValidatorSet signs it): the current one, or a kept one by id (null when not kept)',
    handler: async (state, p) => {
      const current = await getAttestationSetId(state);
      const set = await getAttestationSet(state, p.id === 0n ? current : p.id);
      return set ? attestationSetView(set, current) : null;
    },
  }),
  params: defineQuery({
    params: t.struct('StakingParamsQuery', {}),
    description: 'Current staking parameters',
    handler: async (state) => toJson(stakingParams.schema, await readParams(state, 'staking', stakingParams)),
  }),
};
