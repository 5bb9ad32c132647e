// Addresses of module-owned accounts (fee collector, later escrow and pools): derived from the
// module name so nobody holds their key.

import { type Address, bytesToAddress, keccak256, utf8ToBytes } from '@aivm/crypto';

export function moduleAddress(name: string): Address {
  return bytesToAddress(keccak256(utf8ToBytes(`aivm/module/${name}`)).subarray(12));
}

/** The all-zero address: 'none' in an address field (no recipient, no provider yet). */
export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000' as Address;

export const FEE_COLLECTOR = moduleAddress('fee_collector');
/** Holds the tokens of bonded validators (staking). */
export const BONDED_POOL = moduleAddress('bonded_pool');
/** Holds the tokens of validators not bonded and of maturing undelegations (staking). */
export const NOT_BONDED_POOL = moduleAddress('not_bonded_pool');

/**
 * Every module-owned account. Bank refuses plain transfers to them, so that what a module account
 * holds is exactly what its module put there, and module invariants can check equality.
 */
export const MODULE_ACCOUNTS: ReadonlySet<string> = new Set(
  [
    FEE_COLLECTOR,
    BONDED_POOL,
    NOT_BONDED_POOL,
    ...['distribution', 'gov', 'models', 'inference'].map(moduleAddress),
  ].map((a) => a.toLowerCase()),
);

export function isModuleAccount(address: Address): boolean {
  return MODULE_ACCOUNTS.has(address.toLowerCase());
}

/** Validator (consensus) address: last 20 bytes of keccak256 of the ed25519 public key. */
export function validatorAddress(pubKey: Uint8Array): Address {
  return bytesToAddress(keccak256(pubKey).subarray(12));
}
