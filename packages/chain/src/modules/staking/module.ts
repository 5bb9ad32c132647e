// staking: validators backed by CGPT stake, delegations, unbonding and redelegation with a
// maturity period, and the active set (top maxValidators by power) handed to consensus at end block.

import { fromJson, t } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import { ModuleError } from '../../errors.ts';
import { exportStateSection, importModuleState } from '../../genesis.ts';
import {
  defineMsg,
  type ExecContext,
  type Module,
  paramsFromJson,
  requireThat,
  writeParams,
} from '../../module.ts';
import { stakingEvents } from './events.ts';
import { NO_HOOKS, type StakingHooks } from './hooks.ts';
import { stakingInvariants } from './invariants.ts';
import {
  createValidator,
  delegate,
  jail,
  matureQueue,
  params,
  redelegate,
  setAttestationKey,
  slash,
  undelegate,
  unjail,
  updateActiveSet,
} from './keeper.ts';
import {
  StakingCreateValidator,
  StakingDelegate,
  StakingEditValidator,
  StakingRedelegate,
  StakingSetAttestationKey,
  StakingUndelegate,
} from './messages.ts';
import { COMMISSION_CHANGE_PERIOD_MS, stakingParams } from './params.ts';
import { stakingQueries } from './queries.ts';
import {
  type AttestationSet,
  attestationKeyHolder,
  getAttestationKey,
  getAttestationSet,
  getCurrentAttestationSet,
  getValidator,
  getValidatorByConsensusAddress,
  M,
  setValidator,
  type ValidatorRecord,
  ZERO_ADDRESS,
} from './store.ts';

/** What other modules (slashing) may read of and do to validators; hooks are bound in. */
export type StakingKeeper = {
  getValidator(state: KVReader, operator: Address): Promise<ValidatorRecord | undefined>;
  getValidatorByConsensusAddress(
    state: KVReader,
    consensusAddress: Address,
  ): Promise<ValidatorRecord | undefined>;
  slash(ctx: ExecContext, operator: Address, infractionHeight: bigint, fraction: bigint): Promise<bigint>;
  jail(ctx: ExecContext, operator: Address, untilMs: bigint, tombstone: boolean): Promise<void>;
  unjail(ctx: ExecContext, operator: Address): Promise<void>;
  /** The validator's attestation key (zero address: none). */
  getAttestationKey(state: KVReader, operator: Address): Promise<Address>;
  /** The operator whose attestation key `key` is, or was within the kept attestation sets. */
  attestationKeyHolder(state: KVReader, key: Address): Promise<Address | undefined>;
  /** A kept attestation set by id. */
  getAttestationSet(state: KVReader, id: bigint): Promise<AttestationSet | undefined>;
  getCurrentAttestationSet(state: KVReader): Promise<AttestationSet | undefined>;
};

export type StakingModule = Module & { keeper: StakingKeeper };

const GenesisValidatorSchema = t.struct('StakingGenesisValidator', {
  operator: t.address,
  consensusPubKey: t.bytes32,
  moniker: t.string(64),
  selfStake: t.uint256,
  commissionRate: t.uint256,
  maxCommissionRate: t.uint256,
  maxCommissionChangeRate: t.uint256,
  /** secp256k1 address the validator signs attestations with (zero: none). */
  attestationKey: t.address,
});
const GENESIS_DEFAULTS = {
  attestationKey: '0x0000000000000000000000000000000000000000',
  moniker: '',
  commissionRate: '100000000000000000', // 10%
  maxCommissionRate: '200000000000000000', // 20%
  maxCommissionChangeRate: '10000000000000000', // 1 point a day
};

async function editValidator(
  ctx: ExecContext,
  operator: Address,
  moniker: string,
  rate: bigint,
  minRate: bigint,
): Promise<void> {
  const v = await getValidator(ctx, operator);
  requireThat(v !== undefined, `${operator} is not a validator operator`);
  if (rate !== v.commissionRate) {
    requireThat(rate <= v.maxCommissionRate, `commission rate must be <= ${v.maxCommissionRate}`);
    requireThat(rate >= minRate, `commission rate must be >= ${minRate}`);
    const change = rate > v.commissionRate ? rate - v.commissionRate : v.commissionRate - rate;
    requireThat(
      change <= v.maxCommissionChangeRate,
      `commission may change by at most ${v.maxCommissionChangeRate}`,
    );
    requireThat(
      ctx.block.timeMs >= v.commissionUpdatedMs + COMMISSION_CHANGE_PERIOD_MS,
      'commission may change at most once per 24 hours',
    );
    v.commissionRate = rate;
    v.commissionUpdatedMs = ctx.block.timeMs;
  }
  v.moniker = moniker;
  setValidator(ctx, v);
  stakingEvents.emit(ctx, 'editValidator', {
    operator,
    commissionRate: v.commissionRate.toString(),
    moniker,
  });
}

/** The staking module; `hooks` lets distribution follow every share and token change. */
export function createStakingModule(hooks: StakingHooks = NO_HOOKS): StakingModule {
  return {
    name: M,
    messages: {
      'staking/createValidator': defineMsg({
        schema: StakingCreateValidator,
        description: 'Become a validator: consensus key, commission, self-stake from the sender',
        handler: (ctx, msg, sender) => createValidator(ctx, hooks, { ...msg, operator: sender }),
      }),
      'staking/editValidator': defineMsg({
        schema: StakingEditValidator,
        description: 'Change moniker or commission (within max rate and max daily change, once per 24h)',
        handler: async (ctx, msg, sender) =>
          editValidator(ctx, sender, msg.moniker, msg.commissionRate, (await params(ctx)).minCommissionRate),
      }),
      'staking/delegate': defineMsg({
        schema: StakingDelegate,
        description: 'Delegate CGPT to a validator',
        handler: async (ctx, msg, sender) => {
          await delegate(ctx, hooks, sender, msg.validator, msg.amount);
          stakingEvents.emit(ctx, 'delegate', {
            delegator: sender,
            validator: msg.validator,
            amount: msg.amount.toString(),
          });
        },
      }),
      'staking/undelegate': defineMsg({
        schema: StakingUndelegate,
        description: 'Undelegate CGPT; it returns after the unbonding period',
        handler: (ctx, msg, sender) => undelegate(ctx, hooks, sender, msg.validator, msg.amount),
      }),
      'staking/redelegate': defineMsg({
        schema: StakingRedelegate,
        description:
          'Move a delegation to another validator at once (no transitive redelegation while maturing)',
        handler: (ctx, msg, sender) => redelegate(ctx, hooks, sender, msg.src, msg.dst, msg.amount),
      }),
      'staking/setAttestationKey': defineMsg({
        schema: StakingSetAttestationKey,
        description:
          "Set the sender's validator's attestation key (a secp256k1 address no other validator has used), with the key's signature over EIP-712 AivmAttestationKey(address operator) for the sender; it joins the attestation set at the end of the block",
        handler: (ctx, msg, sender) => setAttestationKey(ctx, sender, msg.key, msg.signature),
      }),
    },
    queries: stakingQueries,
    params: stakingParams,
    keeper: {
      getValidator,
      getValidatorByConsensusAddress,
      slash: (ctx, operator, height, fraction) => slash(ctx, hooks, operator, height, fraction),
      jail,
      unjail,
      getAttestationKey,
      attestationKeyHolder,
      getAttestationSet,
      getCurrentAttestationSet,
    },
    async initGenesis(ctx, json) {
      const section = (json ?? {}) as { params?: unknown; validators?: unknown; state?: unknown };
      writeParams(ctx, 'staking', stakingParams, paramsFromJson(stakingParams, section.params));
      // An exported chain's records (validators, delegations, unbondings, queue) come back as they were.
      importModuleState(ctx, 'staking', section.state);
      const list = section.validators ?? [];
      if (!Array.isArray(list)) throw new ModuleError('staking.validators must be an array');
      for (const [i, raw] of list.entries()) {
        let v: ReturnType<typeof fromJson<typeof GenesisValidatorSchema>>;
        try {
          v = fromJson(GenesisValidatorSchema, { ...GENESIS_DEFAULTS, ...(raw as object) });
        } catch (err) {
          throw new ModuleError(`validators[${i}]: ${(err as Error).message}`);
        }
        const { attestationKey, ...input } = v;
        await createValidator(ctx, hooks, input);
        // A genesis validator's attestation key carries no proof of possession: the genesis file
        // is trusted by construction, as for the consensus keys and stakes in it (docs/evm.md).
        if (attestationKey.toLowerCase() !== ZERO_ADDRESS.toLowerCase())
          await setAttestationKey(ctx, input.operator, attestationKey, 'genesis');
      }
      await updateActiveSet(ctx);
    },
    exportGenesis: (state) => exportStateSection(state, { name: M, params: stakingParams }),
    invariants: stakingInvariants,
    async endBlock(ctx) {
      await matureQueue(ctx);
      await updateActiveSet(ctx);
    },
  };
}

export const stakingModule: StakingModule = createStakingModule();
