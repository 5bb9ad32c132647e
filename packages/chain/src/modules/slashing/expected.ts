// What slashing needs from other modules (Cosmos' expected keepers): staking's validators and its
// penalties, handed to createSlashingModule by defaultModules (staking's StakingKeeper).

import type { Address } from '@aivm/crypto';
import type { KVReader } from '@aivm/state';
import type { ExecContext } from '../../module.ts';

export type SlashingValidator = {
  operator: Address;
  consensusAddress: Address;
  consensusPubKey: Uint8Array;
  jailed: boolean;
  tombstoned: boolean;
};

export interface SlashingStaking {
  getValidator(state: KVReader, operator: Address): Promise<SlashingValidator | undefined>;
  getValidatorByConsensusAddress(
    state: KVReader,
    consensusAddress: Address,
  ): Promise<SlashingValidator | undefined>;
  /** Burns `fraction` (DEC) of the stake at risk since `infractionHeight`; returns the amount burned. */
  slash(ctx: ExecContext, operator: Address, infractionHeight: bigint, fraction: bigint): Promise<bigint>;
  jail(ctx: ExecContext, operator: Address, untilMs: bigint, tombstone: boolean): Promise<void>;
  unjail(ctx: ExecContext, operator: Address): Promise<void>;
  /** The operator whose attestation key `key` is, or was within the kept attestation sets. */
  attestationKeyHolder(state: KVReader, key: Address): Promise<Address | undefined>;
  /** A kept attestation set's start height (the end block that made it). */
  getAttestationSet(state: KVReader, id: bigint): Promise<{ startHeight: bigint } | undefined>;
}

/** What slashing reads of inference: the height a request was finalized at, if it was. */
export interface SlashingInference {
  finalizedAt(state: KVReader, requestId: bigint): Promise<bigint | undefined>;
}
