// Genesis documents for new chains (devnet, init, testnet, tests): validators are created by the
// staking module from their operators' genesis balances, so every validator starts with real
// bonded CGPT and a funded operator account.

import { type GenesisDoc, WEI_PER_CGPT } from '@aivm/chain';
import { type Address, bytesToHex } from '@aivm/crypto';

export type GenesisValidatorSpec = {
  moniker?: string;
  /** Account that owns the validator and its self-stake. */
  operator: Address;
  /** ed25519 consensus public key (32 bytes). */
  consensusPubKey: Uint8Array;
  selfStakeWei: bigint;
  /** secp256k1 address the validator signs attestations with (docs/evm.md); absent: none. */
  attestationKey?: Address;
};

/** Self-stake of a validator made by the CLI: 10x staking's default minimum self-delegation. */
export const DEFAULT_SELF_STAKE_WEI = 10_000n * WEI_PER_CGPT;
/** What an operator keeps liquid for fees (unjail, evidence, edits). */
export const OPERATOR_FEE_FUNDS_WEI = 100n * WEI_PER_CGPT;

export function buildGenesis(opts: {
  chainId: number | bigint;
  genesisTimeMs: number;
  validators: GenesisValidatorSpec[];
  balances: { address: Address | string; amountWei: bigint }[];
  /** Extra module sections (params overrides); bank and staking are filled in here. */
  app?: Record<string, Record<string, unknown>>;
}): GenesisDoc {
  const balances = new Map<string, { address: string; amount: bigint }>();
  const credit = (address: string, amount: bigint) => {
    const key = address.toLowerCase();
    const prev = balances.get(key);
    balances.set(key, { address, amount: (prev?.amount ?? 0n) + amount });
  };
  for (const b of opts.balances) credit(b.address, b.amountWei);
  for (const v of opts.validators) credit(v.operator, v.selfStakeWei + OPERATOR_FEE_FUNDS_WEI);
  const app = opts.app ?? {};
  return {
    chainId: opts.chainId.toString(),
    genesisTimeMs: opts.genesisTimeMs,
    app: {
      ...app,
      bank: {
        ...app.bank,
        balances: [...balances.values()].map((b) => ({ address: b.address, amount: b.amount.toString() })),
      },
      staking: {
        ...app.staking,
        validators: opts.validators.map((v) => ({
          moniker: v.moniker ?? '',
          operator: v.operator,
          consensusPubKey: bytesToHex(v.consensusPubKey),
          selfStake: v.selfStakeWei.toString(),
          ...(v.attestationKey ? { attestationKey: v.attestationKey } : {}),
        })),
      },
    },
  };
}
