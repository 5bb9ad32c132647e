import { t } from '@aivm/codec';

export const StakingCreateValidator = t.struct('StakingCreateValidator', {
  /** ed25519 public key the validator signs votes with. */
  consensusPubKey: t.bytes32,
  moniker: t.string(64),
  /** Self-delegation in wei, taken from the sender (the operator). */
  selfStake: t.uint256,
  /** DEC-scaled (10^18 = 100%). */
  commissionRate: t.uint256,
  maxCommissionRate: t.uint256,
  maxCommissionChangeRate: t.uint256,
});

export const StakingEditValidator = t.struct('StakingEditValidator', {
  moniker: t.string(64),
  /** New commission rate (DEC-scaled); equal to the current one to change only the moniker. */
  commissionRate: t.uint256,
});

export const StakingDelegate = t.struct('StakingDelegate', { validator: t.address, amount: t.uint256 });
export const StakingUndelegate = t.struct('StakingUndelegate', { validator: t.address, amount: t.uint256 });
export const StakingRedelegate = t.struct('StakingRedelegate', {
  src: t.address,
  dst: t.address,
  amount: t.uint256,
});

/**
 * Sent by a validator's operator: the secp256k1 address it signs attestations with (docs/evm.md),
 * and the key's proof of possession: its signature (r || s || v, 65 bytes, low s) over the EIP-712
 * `AivmAttestationKey(address operator)` with the sender as operator (signAttestationKeyProof).
 */
export const StakingSetAttestationKey = t.struct('StakingSetAttestationKey', {
  key: t.address,
  signature: t.bytes(65),
});
